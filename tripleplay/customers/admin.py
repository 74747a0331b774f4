from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.customers.models import (
    Account,
    AccountProduct,
    AccountStatusChange,
    Customer,
    CustomerBlock,
    CustomerStatusChange,
    VacationHold,
)


class ReadOnlyHistory(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CustomerStatusChangeInline(ReadOnlyHistory):
    model = CustomerStatusChange


class CustomerBlockInline(ReadOnlyHistory):
    """Each source's holds, current and lifted: why the customer has the status it has."""

    model = CustomerBlock
    fields = ["source", "effect", "reason", "since", "actor_name", "lifted_at", "lift_reason", "lifted_by"]
    readonly_fields = fields


class AccountStatusChangeInline(ReadOnlyHistory):
    model = AccountStatusChange


class AccountProductInline(admin.TabularInline):
    model = AccountProduct
    extra = 0
    can_delete = False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Statuses and money change through the services (REST API) so that history, audit and the
    ledger stay whole; here they are read-only."""

    list_display = ["id", "name", "currency", "balance_model", "status", "created_at"]
    list_filter = ["status", "balance_model", "currency", "billing_period"]
    search_fields = ["name", "email", "accounts__login"]
    readonly_fields = ["currency", "status", "status_reason", "status_changed_at", "created_at", "closed_at"]
    inlines = [CustomerBlockInline, CustomerStatusChangeInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "login", "device_id", "phone_number", "status"]
    list_filter = ["status"]
    search_fields = ["login", "device_id", "phone_number"]
    readonly_fields = ["customer", "status", "status_reason", "status_changed_at", "created_at", "closed_at"]
    inlines = [AccountProductInline, AccountStatusChangeInline]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccountProduct)
class AccountProductAdmin(admin.ModelAdmin):
    list_display = ["account", "product", "plan", "role", "start_date", "end_date"]
    list_filter = ["role"]


@admin.register(CustomerStatusChange)
class CustomerStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["customer", "from_status", "to_status", "reason", "actor_name", "at"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccountStatusChange)
class AccountStatusChangeAdmin(CustomerStatusChangeAdmin):
    list_display = ["account", "from_status", "to_status", "reason", "actor_name", "at"]


@admin.register(VacationHold)
class VacationHoldAdmin(ReadOnlyAdmin):
    """Holds are scheduled, cancelled and ended through tripleplay.customers.vacation."""

    list_display = ["account", "start_date", "end_date", "status", "reason", "actor_name", "channel"]
    list_filter = ["status", "channel"]


@admin.register(CustomerBlock)
class CustomerBlockAdmin(ReadOnlyAdmin):
    """Holds are set and lifted by their sources through the services."""

    list_display = ["customer", "source", "effect", "reason", "since", "actor_name", "lifted_at"]
    list_filter = ["source", "effect"]
