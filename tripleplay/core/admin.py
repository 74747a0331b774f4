from django.contrib import admin

from tripleplay.core.models import IdempotentResponse, ScheduledJob, WorkerHeartbeat


class WorkerRowsAdmin(admin.ModelAdmin):
    """Rows the worker writes: shown, never added or edited by hand; deleting stays possible (a dead
    worker's heartbeat, a job row to start afresh), unlike core.admin_base.ReadOnlyAdmin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ScheduledJob)
class ScheduledJobAdmin(WorkerRowsAdmin):
    list_display = ["name", "owner", "last_started_at", "last_finished_at", "last_succeeded_at", "last_ok",
                    "last_duration_ms", "lease_until", "last_result"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(WorkerRowsAdmin):
    list_display = ["name", "started_at", "seen_at", "runs_jobs"]


@admin.register(IdempotentResponse)
class IdempotentResponseAdmin(WorkerRowsAdmin):
    """The API creates' stored answers (D117): shown to look into a client's retries; deleting one lets
    its key be used again, as the idempotency-keys-prune job does after TRIPLEPLAY_IDEMPOTENCY_KEY_HOURS."""

    list_display = ["principal", "key", "status_code", "created_at"]
    list_filter = ["status_code"]
    search_fields = ["principal", "key"]
