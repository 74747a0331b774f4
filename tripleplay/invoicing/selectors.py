"""Reads for invoices: lists, one invoice with its lines, the usage annex."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Min, QuerySet

from tripleplay.core.errors import NotFound
from tripleplay.invoicing.models import BillingSchedule, DocumentKind, Invoice, InvoicedEntry, InvoiceLine


def invoices(customer_id: int | None = None, status: str | None = None) -> QuerySet[Invoice]:
    qs = Invoice.objects.all().order_by("-issue_date", "-id")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def get_invoice(invoice_id: int) -> Invoice:
    try:
        return Invoice.objects.get(pk=invoice_id)
    except Invoice.DoesNotExist:
        raise NotFound(f"invoice #{invoice_id} does not exist") from None


def lines_of(invoice: Invoice) -> list[InvoiceLine]:
    return list(invoice.lines.order_by("position"))


def usage_annex(invoice: Invoice) -> list[dict]:
    """The rated xDRs behind the invoice's usage lines (the detail annex), oldest first."""
    from tripleplay.rating.models import Xdr

    # The usage lines' entries: what lines.section_of puts in the usage section (source usage, not a
    # payment or refund).
    entry_ids = (InvoicedEntry.objects.filter(invoice=invoice, entry__source="usage")
                 .exclude(entry__kind__in=("payment", "refund")).values("entry_id"))
    rows = (Xdr.objects.filter(ledger_entry_id__in=entry_ids).select_related("account")
            .order_by("started_at", "id"))
    return [{"started_at": x.started_at, "service_type": x.service_type, "account": str(x.account) if x.account else "",
             "destination": x.callee or x.destination, "duration_seconds": x.duration_seconds, "bytes": x.bytes,
             "count": x.count, "billed_quantity": x.billed_quantity, "cost_minor": x.cost_minor} for x in rows]


@dataclass(frozen=True)
class InvoiceRunProgress:
    periods_due: int  # billing periods ended on or before ``day`` and not yet closed by an invoice
    oldest_due_period_end: date | None
    closed_on_day: int  # periods closed by an invoice issued on ``day``


def invoice_run_progress(day: date) -> InvoiceRunProgress:
    """How far the invoice run of ``day`` has come (two aggregate queries, for /metrics)."""
    due = BillingSchedule.objects.filter(next_period_end__lte=day).aggregate(n=Count("pk"), oldest=Min("next_period_end"))
    closed = Invoice.objects.filter(kind=DocumentKind.INVOICE, issue_date=day).count()
    return InvoiceRunProgress(due["n"], due["oldest"], closed)
