from django.db import models

from tripleplay.core.models import ActorFields


class AuditEvent(ActorFields):
    """One state-changing action: who, when, what, on which object. Written by services in the same
    transaction as the change, so an action and its record commit or vanish together."""

    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64, db_index=True)  # e.g. "customer.status_changed"
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_type}#{self.object_id}"
