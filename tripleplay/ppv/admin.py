from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.ppv.models import PpvPurchase


@admin.register(PpvPurchase)
class PpvPurchaseAdmin(ReadOnlyAdmin):
    """Purchases change only through tripleplay.ppv.services (platform calls, operator refunds)."""

    list_display = ["id", "platform", "transaction_id", "subscriber_ref", "title", "price_minor", "currency",
                    "status", "decline_code", "authorized_at"]
    list_filter = ["platform", "status", "decline_code"]
    search_fields = ["transaction_id", "subscriber_ref", "title", "content_owner"]
