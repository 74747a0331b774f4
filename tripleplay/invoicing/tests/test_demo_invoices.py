"""The demo issues an invoice per demo customer, with its PDF stored and its e-mail in the outbox (the
worker delivers it); a second run issues none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.files.storage import storages

from tripleplay import clock, demo
from tripleplay.demo_invoicing import issue_demo_invoices
from tripleplay.invoicing.models import Invoice


@pytest.mark.django_db
def test_demo_invoices():
    clock.freeze(datetime(2026, 3, 10, 12, tzinfo=UTC))
    demo.seed()
    assert issue_demo_invoices() == (5, 5)
    assert list(Invoice.objects.order_by("number").values_list("number_text", "customer__name")) == [
        ("INV-000001", "Alice Martin"), ("INV-000002", "Bob Chen"), ("INV-000003", "Carla Diaz"),
        ("INV-000004", "Dmitri Ivanov"), ("INV-000005", "Emma Schultz")]
    emma = Invoice.objects.get(customer__name="Emma Schultz")
    # the handset debit, 8.25 % tax on it: 206.25 -> 206 (half-up)
    assert (emma.subtotal_minor, emma.tax_minor, emma.amount_due_minor, emma.status) == (2500, 206, 2706, "unpaid")
    assert all(storages["invoices"].exists(p) for p in Invoice.objects.values_list("pdf_path", flat=True))
    from tripleplay.notifications.delivery import Deliverer

    Deliverer(seed=1).run_once()  # the demo's worker; no SMS provider here: the SMS rows fail
    invoice_mails = [m for m in mail.outbox if m.subject.startswith(("Your invoice", "Ihre Rechnung"))]
    assert len(invoice_mails) == 5 and all(m.attachments for m in invoice_mails)
    assert issue_demo_invoices() == (0, 0)


@pytest.mark.django_db
def test_admin_shows_invoices_read_only(client):
    from django.contrib.auth import get_user_model

    demo.seed()
    issue_demo_invoices()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "a-long-password"))
    inv = Invoice.objects.get(number_text="INV-000005")
    r = client.get(f"/admin/invoicing/invoice/{inv.pk}/change/")
    assert r.status_code == 200 and b"Debit: replacement DECT handset" in r.content
    assert client.get("/admin/invoicing/invoice/").status_code == 200
    assert client.post(f"/admin/invoicing/invoice/{inv.pk}/delete/", {"post": "yes"}).status_code == 403
