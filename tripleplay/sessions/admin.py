from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.sessions.models import ChargingSession, ChargingWindow, Softswitch


@admin.register(ChargingSession)
class ChargingSessionAdmin(ReadOnlyAdmin):
    list_display = ("id", "client", "session_id", "service_type", "account", "status", "used_wire", "charged_minor",
                    "started_at", "last_seen_at")
    list_filter = ("status", "service_type")
    search_fields = ("session_id", "subscriber")


@admin.register(ChargingWindow)
class ChargingWindowAdmin(ReadOnlyAdmin):
    """A session's fast window (D296): written by the charging core and radius_sql_interim only."""

    list_display = ("session", "key", "until", "used_wire", "charged_minor", "reports", "last_seen_at")
    exclude = ("steps",)


@admin.register(Softswitch)
class SoftswitchAdmin(ReadOnlyAdmin):
    """Created with ``tripleplay add-softswitch`` or the API (the token is shown once there)."""

    list_display = ("code", "name", "enabled", "created_at")
    exclude = ("token_hash",)
