from django.contrib import admin

from tripleplay.audit.models import AuditEvent
from tripleplay.core.admin_base import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_kind", "actor_name", "action", "object_type", "object_id"]
    list_filter = ["action", "actor_kind", "object_type"]
    search_fields = ["actor_name", "object_id", "action"]
