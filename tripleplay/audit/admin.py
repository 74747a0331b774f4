from django.contrib import admin

from tripleplay.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_kind", "actor_name", "action", "object_type", "object_id"]
    list_filter = ["action", "actor_kind", "object_type"]
    search_fields = ["actor_name", "object_id", "action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
