"""The demo issues an invoice per demo customer, with its PDF stored and e-mailed; a second run issues none."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core import mail

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
    assert all(Path(p).is_file() for p in Invoice.objects.values_list("pdf_path", flat=True))
    assert len(mail.outbox) == 5 and all(m.attachments for m in mail.outbox)
    assert issue_demo_invoices() == (0, 0)
