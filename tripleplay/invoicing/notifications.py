"""E-mail notifications through Django's e-mail framework (EMAIL_BACKEND: a file backend by default,
console in a demo, SMTP in production): an invoice issued, each collections step. The invoice's PDF
is attached. ``deliver_documents`` (the worker's "invoice-documents" job) lives here rather than in
documents.py: delivering is rendering then sending, and documents.py only renders, so the two
modules import one way (notifications -> documents)."""

from __future__ import annotations

from django.core.mail import EmailMessage

from tripleplay import clock
from tripleplay.invoicing import documents
from tripleplay.invoicing.models import DocumentKind, Invoice
from tripleplay.money import Money

_STEP_SUBJECTS = {
    "reminder": "Payment reminder: invoice {n}",
    "late_fee": "Late fee charged: invoice {n} is overdue",
    "suspend": "Service suspended: invoice {n} is overdue",
    "block": "Service blocked: invoice {n} is overdue",
}


def _send(invoice: Invoice, subject: str, body: str) -> bool:
    to = (invoice.bill_to or {}).get("email") or invoice.customer.email
    if not to:
        return False
    msg = EmailMessage(subject=subject, body=body, to=[to])
    msg.attach(f"{invoice.number_text}.pdf", documents.pdf_bytes(invoice), "application/pdf")
    return msg.send() == 1


def send_invoice_issued(invoice: Invoice) -> bool:
    what = "credit note" if invoice.kind == DocumentKind.CREDIT_NOTE else "invoice"
    due = Money(invoice.amount_due_minor, invoice.currency).format()
    body = (f"Dear {invoice.bill_to.get('name', '')},\n\nyour {what} {invoice.number_text} of "
            f"{invoice.issue_date:%d %B %Y} is attached.\nAmount due: {due}, by {invoice.due_date:%d %B %Y}.\n")
    return _send(invoice, f"Your {what} {invoice.number_text}", body)


def send_collection_notice(action) -> bool:
    invoice = action.invoice
    if invoice is None or action.action not in _STEP_SUBJECTS:
        return False
    open_amount = Money(invoice.open_minor, invoice.currency).format()
    body = (f"Dear {invoice.bill_to.get('name', '')},\n\ninvoice {invoice.number_text}, due on "
            f"{invoice.due_date:%d %B %Y}, still has {open_amount} open.\n{action.detail}.\n"
            "A payment that clears what is overdue restores a suspended service automatically.\n")
    return _send(invoice, _STEP_SUBJECTS[action.action].format(n=invoice.number_text), body)


def deliver_documents(limit: int = 200) -> tuple[int, int]:
    """Render and store the PDF of invoices issued and not yet sent, and e-mail them (the worker's
    "invoice-documents" job, separate from the run). Returns (rendered, sent)."""
    rendered = sent = 0
    for invoice in Invoice.objects.filter(notified_at__isnull=True).select_related("customer").order_by("id")[:limit]:
        if not invoice.pdf_sha256:
            documents.store_pdf(invoice)
            rendered += 1
        if send_invoice_issued(invoice):
            sent += 1
        Invoice.objects.filter(pk=invoice.pk, notified_at__isnull=True).update(notified_at=clock.now())
    return rendered, sent
