"""Invoice documents: the PDF (WeasyPrint, from templates/invoicing/invoice.html), rendered once and
stored with its SHA-256 on the invoice; the CSV export of the lines.

The PDF is rendered from the issued rows, which never change, so rendering once is enough; the stored
file is checked against its hash whenever it is served (a changed or lost file is an error, never a
silent re-render of something else). Files go through Django's storage API, the storage named
"invoices" (settings.STORAGES: the file system under TRIPLEPLAY_INVOICE_DIR by default, or any other
backend such as django-storages' S3 one: docs/operations.md), so that every web host serves the same
documents. ``pdf_path`` holds the file's name in that storage; an absolute path is a file stored
before the storage existed, read from the disk as it was."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.template.loader import render_to_string

from tripleplay import clock
from tripleplay.core.errors import Conflict
from tripleplay.invoicing import selectors
from tripleplay.invoicing.lines import SERVICE_NAMES
from tripleplay.invoicing.models import DocumentKind, Invoice
from tripleplay.money import Money

_SECTION_TITLES = {"subscriptions": "Subscription fees", "usage": "Usage", "ppv": "Pay-per-view",
                   "one_off": "One-off charges", "credits": "Credits", "adjustments": "Adjustments",
                   "payments": "Payments received", "credit_note": "Reversed charges"}


def _m(minor: int, currency: str) -> str:
    return Money(minor, currency).format()


def context(invoice: Invoice) -> dict:
    cur = invoice.currency
    sections: list[dict] = []
    for ln in selectors.lines_of(invoice):
        title = _SECTION_TITLES[ln.section]
        if ln.section in ("subscriptions", "usage"):
            title = f"{title}: {SERVICE_NAMES.get(ln.service_type, ln.service_type)}"
        if not sections or sections[-1]["title"] != title:
            sections.append({"title": title, "lines": []})
        period = ""
        if ln.period_start and ln.period_end:
            period = f"{ln.period_start:%d %b %Y} - {ln.period_end.fromordinal(ln.period_end.toordinal() - 1):%d %b %Y}"
        sections[-1]["lines"].append({"description": ln.description, "period": period, "quantity": ln.quantity,
                                      "amount": _m(ln.amount_minor, cur),
                                      "tax": _m(ln.tax_minor, cur) if ln.section != "payments" else ""})
    annex = selectors.usage_annex(invoice)
    for row in annex:
        row["cost"] = _m(row["cost_minor"] or 0, cur)
    return {
        "invoice": invoice, "issuer": settings.TRIPLEPLAY_INVOICE_ISSUER,
        "title": "Credit note" if invoice.kind == DocumentKind.CREDIT_NOTE else "Invoice",
        "bill_to": invoice.bill_to, "sections": sections, "annex": annex,
        "period_last": invoice.period_end.fromordinal(invoice.period_end.toordinal() - 1),
        "opening": _m(invoice.opening_balance_minor, cur), "payments": _m(-invoice.payments_minor, cur),
        "subtotal": _m(invoice.subtotal_minor, cur), "tax": _m(invoice.tax_minor, cur),
        "total": _m(invoice.total_minor, cur), "amount_due": _m(invoice.amount_due_minor, cur),
        "tax_rate": invoice.tax_rate.normalize(),
        "rounding": invoice.rounding.replace("ROUND_", "").replace("_", " ").lower(),
    }


def render_pdf(invoice: Invoice) -> bytes:
    from weasyprint import HTML

    html = render_to_string("invoicing/invoice.html", context(invoice))
    return HTML(string=html, base_url=str(Path(__file__).parent)).write_pdf()


INVOICE_STORAGE = "invoices"


def _name(invoice: Invoice) -> str:
    return f"{invoice.issue_date:%Y}/{invoice.number_text}.pdf"


def store_pdf(invoice: Invoice) -> Invoice:
    """Render and store the PDF if it is not stored yet, once: the conditional UPDATE that claims the
    invoice and the file's save are one transaction (a failed save leaves the invoice without a PDF, to
    be stored again; a process that loses the race writes nothing). The storage may rename the file if
    the name is taken (an orphan of a rolled-back attempt); the invoice keeps the name it got."""
    if invoice.pdf_sha256:
        return invoice
    data = render_pdf(invoice)
    digest = hashlib.sha256(data).hexdigest()
    name = _name(invoice)
    with transaction.atomic():
        if Invoice.objects.filter(pk=invoice.pk, pdf_sha256="").update(pdf_sha256=digest, pdf_path=name,
                                                                        updated_at=clock.now()) == 1:
            stored = storages[INVOICE_STORAGE].save(name, ContentFile(data))
            if stored != name:
                Invoice.objects.filter(pk=invoice.pk).update(pdf_path=stored, updated_at=clock.now())
    invoice.refresh_from_db(fields=["pdf_sha256", "pdf_path"])
    return invoice


def store_pending(limit: int = 200) -> int:
    """Render and store the PDF of invoices issued without one yet (the worker's "invoice-documents" job,
    separate from the run, which stays fast). Their e-mails wait in the notifications outbox until the
    PDF is stored (D200). Returns how many were rendered."""
    rendered = 0
    for invoice in Invoice.objects.filter(pdf_sha256="").order_by("id")[:limit]:
        store_pdf(invoice)
        rendered += 1
    return rendered


def _read(name: str) -> bytes:
    if Path(name).is_absolute():  # stored on the local disk before the storage API (D100)
        return Path(name).read_bytes()
    with storages[INVOICE_STORAGE].open(name, "rb") as f:
        return f.read()


def pdf_bytes(invoice: Invoice) -> bytes:
    """The stored PDF (rendered and stored on first use), checked against its hash."""
    invoice = store_pdf(invoice)
    try:
        data = _read(invoice.pdf_path)
    except (OSError, FileNotFoundError):
        raise Conflict(f"the stored PDF of {invoice.number_text} is missing", code="invoice_pdf_missing") from None
    if hashlib.sha256(data).hexdigest() != invoice.pdf_sha256:
        raise Conflict(f"the stored PDF of {invoice.number_text} does not match its hash", code="invoice_pdf_changed")
    return data


CSV_COLUMNS = ("invoice", "position", "section", "service_type", "description", "period_start", "period_end",
               "quantity", "amount", "tax", "currency")


def lines_csv(invoice: Invoice) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for ln in selectors.lines_of(invoice):
        w.writerow([invoice.number_text, ln.position, ln.section, ln.service_type, ln.description,
                    ln.period_start or "", ln.period_end or "", ln.quantity,
                    Money(ln.amount_minor, invoice.currency).amount_text(),
                    Money(ln.tax_minor, invoice.currency).amount_text(), invoice.currency])
    return out.getvalue()
