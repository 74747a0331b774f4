from django.db import models

from tripleplay.core.models import ActorFields


class AuditEvent(ActorFields):
    """One state-changing action: who, when, what, on which object. Written by services in the same
    transaction as the change, so an action and its record commit or vanish together."""

    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64)  # e.g. "customer.status_changed"; indexed in Meta
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        # action's index is declared here rather than by db_index=True, which on PostgreSQL adds a
        # varchar_pattern_ops twin for LIKE 'prefix%' that no query uses (every event writes both).
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["action"], name="audit_action")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_type}#{self.object_id}"
