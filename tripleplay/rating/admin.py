from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.rating.models import AllowanceUsage, Rate, RateTable, Xdr


class RateInline(admin.TabularInline):
    model = Rate
    extra = 0
    fields = ["prefix", "price_per_unit_micros", "next_price_per_unit_micros", "connection_fee_micros",
              "first_increment", "next_increment", "description"]


@admin.register(RateTable)
class RateTableAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "product", "service_type", "currency"]
    list_filter = ["service_type"]
    inlines = [RateInline]


@admin.register(Rate)
class RateAdmin(ReadOnlyAdmin):
    list_display = ["id", "table", "prefix", "price_per_unit_micros", "connection_fee_micros", "first_increment",
                    "next_increment"]
    search_fields = ["prefix"]


@admin.register(Xdr)
class XdrAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "external_id", "service_type", "account", "started_at", "status", "error_code",
                    "cost_minor", "currency"]
    list_filter = ["status", "service_type", "error_code", "source"]
    search_fields = ["external_id", "caller", "callee", "login", "destination"]
    raw_id_fields = ["account", "rate", "ledger_entry"]


@admin.register(AllowanceUsage)
class AllowanceUsageAdmin(ReadOnlyAdmin):
    list_display = ["id", "assignment", "allowance", "period_index", "period_start", "period_end", "used", "granted"]
    raw_id_fields = ["assignment", "allowance"]
