"""Notifications: the operators' templates, each customer's preferences (language, low-balance
threshold), and the outbox of rendered messages with their delivery state. docs/notifications.md."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tripleplay.customers.models import Customer
from tripleplay.invoicing.models import Invoice


class Template(models.Model):
    """The text of one kind on one channel in one language, in Django template syntax. Seeded from
    catalogue.DEFAULTS by the migration; operators edit it (and may switch it off)."""

    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=8)
    language = models.CharField(max_length=8)
    subject = models.CharField(max_length=200, blank=True)  # e-mail only
    body = models.TextField()
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "channel", "language"], name="notifications_template_once")]

    def __str__(self) -> str:
        return f"{self.kind}/{self.channel}/{self.language}"


class Preference(models.Model):
    """A customer's notification settings. ``language``: "" = the portal login's, else English.
    ``low_balance_threshold_minor``: warn when the available funds fall below it (None: never);
    ``low_balance_armed`` is False from the warning until the funds are back at or above it."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, primary_key=True,
                                    related_name="notification_preference")
    language = models.CharField(max_length=8, blank=True)
    low_balance_threshold_minor = models.BigIntegerField(null=True, blank=True)
    low_balance_armed = models.BooleanField(default=True)
    low_balance_warnings = models.PositiveIntegerField(default=0)  # part of each warning's key
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"notification preferences of customer #{self.customer_id}"


class Status(models.TextChoices):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a worker, the call under way
    SENT = "sent"  # the provider accepted it
    FAILED = "failed"  # dead letter: a permanent refusal, retries exhausted or an unknown outcome


class ProviderStatus(models.TextChoices):
    """What the SMS provider reported afterwards (Twilio's status callbacks, D202), in its order: a status
    never goes back (a late "sent" after "delivered" changes nothing); the last three are final."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


class Notification(models.Model):
    """One message to one address, rendered when the change that causes it commits (the outbox). ``key``
    makes it once only: the same change never writes a second row, and the row is sent at most once
    unless an operator retries it."""

    key = models.CharField(max_length=160, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="notifications", db_index=False)
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=8)
    language = models.CharField(max_length=8)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)  # Twilio's message SID, the e-mail's Message-ID
    # The e-mail's attachment: this invoice's stored PDF, read when it is sent (D200).
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                db_index=False)
    provider_status = models.CharField(max_length=12, choices=ProviderStatus.choices, blank=True)
    provider_status_at = models.DateTimeField(null=True, blank=True)
    provider_error_code = models.CharField(max_length=10, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["next_attempt_at", "id"], condition=Q(status="pending"), name="notifications_due"),
            models.Index(fields=["customer", "-id"], name="notifications_customer"),
            models.Index(fields=["status", "-id"], name="notifications_status"),
            models.Index(fields=["provider_id"], condition=~Q(provider_id=""), name="notifications_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} to {self.recipient} ({self.status})"
