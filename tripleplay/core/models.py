from django.db import models


class ActorFields(models.Model):
    """Who did it: stored on every row that records an action (status changes, entries, audit)."""

    actor_kind = models.CharField(max_length=16)
    actor_ref = models.CharField(max_length=64)
    actor_name = models.CharField(max_length=150)

    class Meta:
        abstract = True

    def set_actor(self, actor) -> None:
        self.actor_kind = str(actor.kind)
        self.actor_ref = actor.ref
        self.actor_name = actor.name
