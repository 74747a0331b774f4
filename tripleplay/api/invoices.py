"""Invoices: list, fetch (with lines), download the PDF and the CSV of lines; issue an out-of-turn
invoice; void an invoice (which issues a credit note); the collections history of a customer.

Reads are open to every role; issuing and voiding to admin and finance (docs/invoicing.md)."""


from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import ChangingCursorPagination
from tripleplay.api.permissions import OPERATIONS, READERS, require
from tripleplay.api.schemas import IdParam, In, MoneyOut, RequiredText, decimal_text, minor
from tripleplay.collections.models import CollectionAction
from tripleplay.customers import selectors as customer_selectors
from tripleplay.invoicing import documents, selectors, services
from tripleplay.invoicing.models import InvoiceStatus

router = Router(tags=["invoices"])


class LineOut(Schema):
    position: int
    section: str
    service_type: str
    description: str
    quantity: int
    amount: MoneyOut
    tax: MoneyOut
    period_start: date | None
    period_end: date | None = None  # exclusive


class InvoiceOut(Schema):
    id: int
    number: str
    kind: str
    customer_id: int
    status: str
    out_of_turn: bool
    credit_note_for: str | None
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    currency: str
    tax_rate: str
    rounding: str
    opening_balance: MoneyOut
    payments: MoneyOut
    subtotal: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    amount_due: MoneyOut
    settled: MoneyOut
    pdf_sha256: str
    voided_at: datetime | None
    void_reason: str
    updated_at: datetime = Field(description="the time of the last change (updated_after filters by it)")


class InvoiceDetailOut(InvoiceOut):
    lines: list[LineOut]


def _out(inv, with_lines: bool = False) -> dict:
    cur = inv.currency
    out = {
        "id": inv.pk, "number": inv.number_text, "kind": inv.kind, "customer_id": inv.customer_id,
        "status": inv.status, "out_of_turn": inv.out_of_turn,
        "credit_note_for": inv.credit_note_for.number_text if inv.credit_note_for_id else None,
        "period_start": inv.period_start, "period_end": inv.period_end, "issue_date": inv.issue_date,
        "due_date": inv.due_date, "currency": cur, "tax_rate": decimal_text(Decimal(inv.tax_rate)),
        "rounding": inv.rounding,
        "opening_balance": minor(inv.opening_balance_minor, cur), "payments": minor(inv.payments_minor, cur),
        "subtotal": minor(inv.subtotal_minor, cur), "tax": minor(inv.tax_minor, cur),
        "total": minor(inv.total_minor, cur), "amount_due": minor(inv.amount_due_minor, cur),
        "settled": minor(inv.settled_minor, cur), "pdf_sha256": inv.pdf_sha256, "voided_at": inv.voided_at,
        "void_reason": inv.void_reason, "updated_at": inv.updated_at,
    }
    if with_lines:
        out["lines"] = [{"position": ln.position, "section": ln.section, "service_type": ln.service_type,
                         "description": ln.description, "quantity": ln.quantity,
                         "amount": minor(ln.amount_minor, cur), "tax": minor(ln.tax_minor, cur),
                         "period_start": ln.period_start, "period_end": ln.period_end}
                        for ln in selectors.lines_of(inv)]
    return out


@router.get("/invoices", response=list[InvoiceOut])
@paginate(ChangingCursorPagination, created="created_at", render=_out)
def list_invoices(request, customer_id: IdParam | None = None, status: InvoiceStatus | None = None):
    """Newest first (by creation)."""
    require(request, *READERS)
    return selectors.invoices(customer_id, status).select_related("credit_note_for")


@router.get("/invoices/{invoice_id}", response=InvoiceDetailOut)
def get_invoice(request, invoice_id: IdParam):
    require(request, *READERS)
    return _out(selectors.get_invoice(invoice_id), with_lines=True)


@router.get("/invoices/{invoice_id}/pdf")
def download_pdf(request, invoice_id: IdParam):
    """The invoice's PDF (rendered once, stored; served after checking its SHA-256)."""
    require(request, *READERS)
    inv = selectors.get_invoice(invoice_id)
    response = HttpResponse(documents.pdf_bytes(inv), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{inv.number_text}.pdf"'
    inv.refresh_from_db(fields=["pdf_sha256"])
    response["X-Content-SHA256"] = inv.pdf_sha256
    return response


@router.get("/invoices/{invoice_id}/lines.csv")
def download_csv(request, invoice_id: IdParam):
    require(request, *READERS)
    inv = selectors.get_invoice(invoice_id)
    response = HttpResponse(documents.lines_csv(inv), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{inv.number_text}-lines.csv"'
    return response


@router.post("/customers/{customer_id}/invoices", response={201: InvoiceDetailOut})
@idempotent_create()
def issue_out_of_turn(request, customer_id: IdParam):
    """An out-of-turn invoice now for everything not invoiced yet (the regular period still closes)."""
    actor = require(request, *OPERATIONS)
    inv = services.issue_out_of_turn(actor, customer_selectors.customer(customer_id))
    return _out(inv, with_lines=True)


VoidReason = RequiredText(200)  # invoicing.models.Invoice.void_reason


class VoidIn(In):
    reason: VoidReason


@router.post("/invoices/{invoice_id}/void", response={201: InvoiceDetailOut})
@idempotent_create()
def void_invoice(request, invoice_id: IdParam, payload: VoidIn):
    """Void an invoice; answers with the credit note issued for it."""
    actor = require(request, *OPERATIONS)
    cn = services.void_invoice(actor, selectors.get_invoice(invoice_id), reason=payload.reason)
    return _out(cn, with_lines=True)


class CollectionActionOut(Schema):
    at: datetime
    invoice: str | None
    day: int | None
    action: str
    outcome: str
    detail: str


@router.get("/customers/{customer_id}/collection-actions", response=list[CollectionActionOut])
def collection_actions(request, customer_id: IdParam):
    """Every collections step taken for the customer, oldest first."""
    require(request, *READERS)
    customer = customer_selectors.customer(customer_id)
    return [{"at": a.at, "invoice": a.invoice.number_text if a.invoice_id else None, "day": a.day,
             "action": a.action, "outcome": a.outcome, "detail": a.detail}
            for a in CollectionAction.objects.filter(customer=customer).select_related("invoice")]
