"""Webhooks: where to send (endpoints), what happened (events, the outbox), what was sent (deliveries
and their attempts). docs/webhooks.md."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Endpoint(models.Model):
    """A receiver an operator registered. ``event_types``: the types it wants, or ["*"] for all.
    The signing secret is kept encrypted; during a rotation the previous one also signs until
    ``previous_secret_expires_at`` (Standard Webhooks: several signatures, space-separated)."""

    url = models.CharField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    secret_encrypted = models.TextField()
    secret_prefix = models.CharField(max_length=16)  # "whsec_" + a few characters, to tell secrets apart
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"webhook endpoint #{self.pk} {self.url}"

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class Event(models.Model):
    """One thing that happened, written in the transaction of the change (the outbox). ``uid`` is the
    Standard Webhooks message id (the ``webhook-id`` header): the same on every retry and replay.
    ``source_key``: set where an event is derived from rows later (PPV purchases), so that it is
    written once however often the derivation runs."""

    uid = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=40)
    created_at = models.DateTimeField()
    payload = models.JSONField()
    source_key = models.CharField(max_length=80, null=True, blank=True, unique=True)

    class Meta:
        indexes = [models.Index(fields=["type", "created_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.uid}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its (next) attempt
    SUCCEEDED = "succeeded"  # the endpoint answered 2xx
    FAILED = "failed"  # dead letter: every attempt failed; an operator may replay it


class Delivery(models.Model):
    """One event for one endpoint: claimed by a worker with a lease, retried with backoff."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(db_index=True)  # every write sets it (D250)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="webhooks_delivery_once")]
        indexes = [
            # The workers' claim reads only pending rows, oldest due first.
            models.Index(fields=["next_attempt_at", "id"], condition=Q(status="pending"), name="webhooks_due"),
        ]

    def __str__(self) -> str:
        return f"delivery #{self.pk} of {self.event_id} to {self.endpoint_id}"


class DeliveryAttempt(models.Model):
    """Every HTTP attempt: when, how long, what came back (an excerpt)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    worker = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery #{self.delivery_id}"


class Cursor(models.Model):
    """How far a periodic derivation of events has read (the PPV purchases' watermark)."""

    name = models.CharField(max_length=40, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"
