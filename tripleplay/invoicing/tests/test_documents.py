"""Invoice documents: the PDF opens, has its pages, carries the number and the totals (checked by
extracting its text; page 1 is also rendered to PNG to be looked at), is rendered once and stored with
its hash; the CSV export; the e-mail of an issued invoice with the PDF attached, sent once."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import date
from pathlib import Path

import pytest
from django.core import mail

from tripleplay.core.errors import Conflict
from tripleplay.invoicing import documents, notifications
from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.invoicing.tests.conftest import at


@pytest.fixture
def invoice(january, actor):
    at(date(2026, 2, 1), hour=8)
    run_invoices(actor, date(2026, 2, 1))
    return Invoice.objects.get(customer=january.customer)


def test_pdf_has_the_number_and_totals_and_renders(invoice, tmp_path):
    import pypdfium2
    from pypdf import PdfReader

    data = documents.pdf_bytes(invoice)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2  # the invoice, then the usage annex on its own page
    text = "\n".join(p.extract_text() for p in reader.pages)
    for expected in ("Invoice", "INV-000001", "January customer", "1 Main Street", "TV Basic monthly: subscription fee",
                     "Voice usage: 3 calls", "PPV: Boxing night", "Credit: outage compensation", "$92.73", "$72.73",
                     "$15.46", "$77.27", "Tax 20%", "Annex: usage detail", "15559997", "page 1 of 2"):
        assert expected in text, expected
    page = pypdfium2.PdfDocument(data)[0].render(scale=1.5).to_pil()
    assert page.size[0] > 800 and page.size[1] > 1000
    png = Path(os.environ.get("TRIPLEPLAY_INVOICE_PNG", tmp_path / "invoice-page1.png"))
    page.save(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pdf_is_rendered_once_and_checked_against_its_hash(invoice, monkeypatch):
    first = documents.pdf_bytes(invoice)
    invoice.refresh_from_db()
    assert invoice.pdf_sha256 == hashlib.sha256(first).hexdigest()
    assert Path(invoice.pdf_path).name == "INV-000001.pdf"
    monkeypatch.setattr(documents, "render_pdf", lambda inv: pytest.fail("rendered twice"))
    assert documents.pdf_bytes(invoice) == first
    Path(invoice.pdf_path).write_bytes(first + b"tampered")
    with pytest.raises(Conflict) as e:
        documents.pdf_bytes(invoice)
    assert e.value.code == "invoice_pdf_changed"


def test_csv_lines(invoice):
    text = documents.lines_csv(invoice)
    rows = text.splitlines()
    assert rows[0] == ",".join(documents.CSV_COLUMNS) == (
        "invoice,position,section,service_type,description,period_start,period_end,quantity,amount,tax,currency")
    assert rows[6] == "INV-000001,6,usage,voice,Voice usage: 3 calls,,,3,0.80,0.16,USD"
    assert rows[10] == "INV-000001,10,payments,,Payment (bank transfer),,,1,-20.00,0.00,USD"


def test_issued_invoice_is_emailed_once_with_its_pdf(invoice):
    assert notifications.deliver_documents() == (1, 1)
    [msg] = mail.outbox
    assert (msg.subject, msg.to) == ("Your invoice INV-000001", ["jan@example.com"])
    assert "Amount due: $72.73, by 15 February 2026." in msg.body
    name, pdf, mime = msg.attachments[0]
    invoice.refresh_from_db()
    assert (name, mime, hashlib.sha256(pdf).hexdigest()) == ("INV-000001.pdf", "application/pdf", invoice.pdf_sha256)
    assert invoice.notified_at is not None
    assert notifications.deliver_documents() == (0, 0) and len(mail.outbox) == 1
