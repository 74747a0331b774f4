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
from django.conf import settings
from django.core import mail
from django.core.files.storage import storages

from tripleplay.core.errors import Conflict
from tripleplay.invoicing import documents
from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.invoicing.tests.conftest import at


@pytest.fixture(autouse=True)
def invoice_dir(tmp_path, settings):
    """Each test its own invoice directory: a file left by another test would take the name."""
    settings.TRIPLEPLAY_INVOICE_DIR = tmp_path / "invoices"
    settings.STORAGES = {**settings.STORAGES, "invoices": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                           "OPTIONS": {"location": str(tmp_path / "invoices")}}}


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
    assert invoice.pdf_path == "2026/INV-000001.pdf"  # its name in the "invoices" storage
    on_disk = Path(storages["invoices"].path(invoice.pdf_path))
    assert on_disk == settings.TRIPLEPLAY_INVOICE_DIR / "2026" / "INV-000001.pdf"
    assert on_disk.read_bytes() == first
    monkeypatch.setattr(documents, "render_pdf", lambda inv: pytest.fail("rendered twice"))
    assert documents.pdf_bytes(invoice) == first
    on_disk.write_bytes(first + b"tampered")
    with pytest.raises(Conflict) as e:
        documents.pdf_bytes(invoice)
    assert e.value.code == "invoice_pdf_changed"


def test_pdfs_go_through_the_configured_storage(invoice):
    """Any Django storage backend (an S3-compatible one in production, docs/operations.md): here the
    in-memory one. Nothing is written to the invoice directory."""
    settings.STORAGES = {**settings.STORAGES, "invoices": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    data = documents.pdf_bytes(invoice)
    invoice.refresh_from_db()
    with storages["invoices"].open("2026/INV-000001.pdf", "rb") as f:
        assert f.read() == data
    assert not (settings.TRIPLEPLAY_INVOICE_DIR / "2026" / "INV-000001.pdf").exists()
    storages["invoices"].delete(invoice.pdf_path)
    with pytest.raises(Conflict) as e:
        documents.pdf_bytes(invoice)
    assert e.value.code == "invoice_pdf_missing"


def test_a_pdf_stored_before_the_storage_api_is_still_served(invoice, tmp_path):
    data = documents.pdf_bytes(invoice)
    legacy = tmp_path / "INV-000001.pdf"
    legacy.write_bytes(data)
    Invoice.objects.filter(pk=invoice.pk).update(pdf_path=str(legacy))  # an absolute path, as stored before
    invoice.refresh_from_db()
    assert documents.pdf_bytes(invoice) == data


def test_a_failed_save_leaves_the_invoice_without_a_pdf_to_store_again(invoice, monkeypatch):
    storage = storages["invoices"]
    monkeypatch.setattr(storage, "save", lambda name, content: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        documents.store_pdf(invoice)
    invoice.refresh_from_db()
    assert (invoice.pdf_sha256, invoice.pdf_path) == ("", "")
    monkeypatch.undo()
    assert documents.pdf_bytes(invoice)[:5] == b"%PDF-"


def test_csv_lines(invoice):
    text = documents.lines_csv(invoice)
    rows = text.splitlines()
    assert rows[0] == ",".join(documents.CSV_COLUMNS) == (
        "invoice,position,section,service_type,description,period_start,period_end,quantity,amount,tax,currency")
    assert rows[6] == "INV-000001,6,usage,voice,Voice usage: 3 calls,,,3,0.80,0.16,USD"
    assert rows[10] == "INV-000001,10,payments,,Payment (bank transfer),,,1,-20.00,0.00,USD"


def test_issued_invoice_is_emailed_once_with_its_pdf(invoice):
    """The run wrote the e-mail into the notifications outbox (D200); it waits for the PDF, which the
    invoice-documents job stores, and then goes out once with the stored PDF attached."""
    from tripleplay.notifications.delivery import Deliverer
    from tripleplay.notifications.models import Notification

    [n] = Notification.objects.filter(kind="invoice_issued", channel="email")
    assert (n.invoice_id, n.recipient, n.status) == (invoice.pk, "jan@example.com", "pending")
    deliverer = Deliverer(seed=1)
    deliverer.run_once()
    n.refresh_from_db()
    assert (n.status, mail.outbox) == ("pending", [])  # no PDF yet: not claimed
    assert documents.store_pending() == 1
    deliverer.run_once()
    [msg] = mail.outbox
    assert (msg.subject, msg.to) == ("Your invoice INV-000001", ["jan@example.com"])
    assert msg.body == ("Dear January customer,\n\nyour invoice INV-000001 of 1 February 2026 is attached.\n"
                        "Amount due: US$72.73, by 15 February 2026.\n")  # en_GB: US$
    name, pdf, mime = msg.attachments[0]
    invoice.refresh_from_db()
    assert (name, mime, hashlib.sha256(pdf).hexdigest()) == ("INV-000001.pdf", "application/pdf", invoice.pdf_sha256)
    n.refresh_from_db()
    assert n.status == "sent"
    assert documents.store_pending() == 0
    deliverer.run_once()
    assert len(mail.outbox) == 1
