from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.sessions.models import ChargingSession


@admin.register(ChargingSession)
class ChargingSessionAdmin(ReadOnlyAdmin):
    list_display = ("id", "client", "session_id", "service_type", "account", "status", "used_wire", "charged_minor",
                    "started_at", "last_seen_at")
    list_filter = ("status", "service_type")
    search_fields = ("session_id", "subscriber")
