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


class ScheduledJob(models.Model):
    """One periodic job (expire holds, import packages ...). Whichever worker wins the conditional
    UPDATE on this row runs it; the others skip (see tripleplay.core.scheduler)."""

    name = models.CharField(max_length=64, primary_key=True)
    owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_result = models.TextField(blank=True)
    # Kept apart from last_finished_at so that a failing job still shows when it last worked (/metrics, /readyz).
    last_succeeded_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_ok = models.BooleanField(null=True)

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """One row per `tripleplay worker` process, touched every loop: /readyz and /metrics read how long
    ago the newest worker was seen (a dead or wedged worker stops touching its row)."""

    name = models.CharField(max_length=100, primary_key=True)  # the worker's lease name, host:pid:random
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    runs_jobs = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class IdempotentResponse(models.Model):
    """The first answer to a create sent with an Idempotency-Key (D117), per principal and key: a
    retry with the same request gets this answer again and writes nothing. ``status_code`` is null
    while the first request runs. ``body`` is empty for creates that answer a secret (a token shown
    once): those answer a retry with 409 and the created id, never the secret again."""

    principal = models.CharField(max_length=100)  # "kind:ref" of the caller
    key = models.CharField(max_length=128)
    request_fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="one_response_per_principal_key")]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"
