from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.ledger.models import Funds, Hold, LedgerEntry


@admin.register(Funds)
class FundsAdmin(ReadOnlyAdmin):
    list_display = ["customer", "currency", "balance_minor", "credit_limit_minor", "held_minor"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "kind", "amount_minor", "currency", "balance_after_minor", "description",
                    "created_at", "actor_name"]
    list_filter = ["kind", "source", "currency"]
    search_fields = ["idempotency_key", "reference", "description"]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "amount_minor", "currency", "status", "expires_at", "captured_minor"]
    list_filter = ["status"]
