from django.contrib import admin

from tripleplay.ledger.models import Funds, Hold, LedgerEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money rows are written by tripleplay.ledger.services only (append-only ledger, conditional
    updates); the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
