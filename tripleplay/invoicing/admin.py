from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.invoicing.models import BillingSchedule, Invoice, InvoicedEntry, InvoiceLine, InvoiceSeries


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    fields = ["position", "section", "service_type", "description", "quantity", "amount_minor", "tax_minor",
              "period_start", "period_end"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """Issued by tripleplay.invoicing.services only; an issued invoice never changes (void + credit note)."""

    list_display = ["number_text", "kind", "customer", "issue_date", "due_date", "period_start", "period_end",
                    "total_minor", "amount_due_minor", "settled_minor", "currency", "status"]
    list_filter = ["status", "kind", "out_of_turn", "issue_date"]
    search_fields = ["number_text", "customer__name"]
    inlines = [InvoiceLineInline]


@admin.register(BillingSchedule)
class BillingScheduleAdmin(ReadOnlyAdmin):
    list_display = ["customer", "next_period_start", "next_period_end", "balance_minor"]


@admin.register(InvoiceSeries)
class InvoiceSeriesAdmin(ReadOnlyAdmin):
    list_display = ["code", "prefix", "next_number"]


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "position", "section", "service_type", "description", "quantity", "amount_minor",
                    "tax_minor"]
    list_filter = ["section"]


@admin.register(InvoicedEntry)
class InvoicedEntryAdmin(ReadOnlyAdmin):
    list_display = ["entry", "invoice"]
