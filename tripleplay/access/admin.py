from django.contrib import admin

from tripleplay.access.models import ApiClient, OperatorProfile


@admin.register(OperatorProfile)
class OperatorProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role"]
    list_filter = ["role"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Tokens are created with `tripleplay create-api-client` or POST /api/v1/api-clients (shown once)."""

    list_display = ["name", "role", "token_prefix", "is_active", "created_at", "last_used_at"]
    list_filter = ["role", "is_active"]
    readonly_fields = ["token_prefix", "token_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False
