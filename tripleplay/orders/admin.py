from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.orders.models import TvOrder, TvOrderable


@admin.register(TvOrder)
class TvOrderAdmin(ReadOnlyAdmin):
    """Orders change only through tripleplay.orders.services (platform calls)."""

    list_display = ["id", "platform", "transaction_id", "subscriber_ref", "action", "product_ref", "result", "code",
                    "charged_minor", "currency", "created_at"]
    list_filter = ["platform", "action", "result", "code"]
    search_fields = ["transaction_id", "subscriber_ref", "product_ref"]


@admin.register(TvOrderable)
class TvOrderableAdmin(ReadOnlyAdmin):
    """Set through the operator UI (platform page) or the API, which audit the change."""

    list_display = ["id", "platform", "product", "created_at", "created_by"]
    list_filter = ["platform"]
