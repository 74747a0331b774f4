from django.contrib import admin

from tripleplay.ppv.models import PpvPurchase


@admin.register(PpvPurchase)
class PpvPurchaseAdmin(admin.ModelAdmin):
    """Purchases change only through tripleplay.ppv.services (platform calls, operator refunds)."""

    list_display = ["id", "platform", "transaction_id", "subscriber_ref", "title", "price_minor", "currency",
                    "status", "decline_code", "authorized_at"]
    list_filter = ["platform", "status", "decline_code"]
    search_fields = ["transaction_id", "subscriber_ref", "title", "content_owner"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
