from django.contrib import admin

from tripleplay.ledger.admin import ReadOnlyAdmin
from tripleplay.subscriptions.models import SubscriptionCharge


@admin.register(SubscriptionCharge)
class SubscriptionChargeAdmin(ReadOnlyAdmin):
    """Written by tripleplay.subscriptions.services only, with their ledger entries."""

    list_display = ["id", "customer", "assignment", "kind", "period_index", "amount_minor", "currency",
                    "period_start", "period_end", "due_date", "entry"]
    list_filter = ["kind", "currency"]

