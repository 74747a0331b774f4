"""The invoices API: list, fetch with lines, PDF and CSV downloads, out-of-turn invoices, void with a
credit note, the collections history; who may do what (support reads only)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.invoicing.tests.conftest import at, build_january


@pytest.fixture
def issued(db, actor, catalog, make_customer):
    s = build_january(actor, catalog, make_customer)
    at(date(2026, 2, 1), hour=8)
    run_invoices(actor, date(2026, 2, 1))
    return s.customer, Invoice.objects.get(customer=s.customer)


def test_list_and_fetch(issued, support):
    customer, inv = issued
    r = support.get("/invoices", {"customer_id": customer.pk})
    assert r.status_code == 200
    [row] = r.json()["items"]
    assert (row["number"], row["status"], row["total"], row["amount_due"], row["tax_rate"], row["rounding"]) == (
        "INV-000001", "partially_paid", {"amount_minor": 9273, "amount": "92.73", "currency": "USD"},
        {"amount_minor": 7273, "amount": "72.73", "currency": "USD"}, "20", "ROUND_HALF_UP")
    r = support.get(f"/invoices/{inv.pk}")
    body = r.json()
    assert r.status_code == 200 and len(body["lines"]) == 10
    assert (body["lines"][5]["description"], body["lines"][5]["quantity"], body["lines"][5]["amount"]["amount_minor"],
            body["lines"][5]["tax"]["amount_minor"]) == ("Voice usage: 3 calls", 3, 80, 16)
    assert support.get("/invoices", {"status": "paid"}).json()["items"] == []
    assert support.get("/invoices/999999").status_code == 404


def test_downloads(issued, support):
    _, inv = issued
    r = support.get(f"/invoices/{inv.pk}/pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    assert r["Content-Disposition"] == 'attachment; filename="INV-000001.pdf"'
    inv.refresh_from_db()
    assert r["X-Content-SHA256"] == inv.pdf_sha256 and len(inv.pdf_sha256) == 64
    again = support.get(f"/invoices/{inv.pk}/pdf")
    assert again.content == r.content  # stored once, served as stored
    r = support.get(f"/invoices/{inv.pk}/lines.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert r.status_code == 200 and rows[0][:5] == ["invoice", "position", "section", "service_type", "description"]
    assert rows[1] == ["INV-000001", "1", "subscriptions", "iptv", "TV Basic monthly: activation fee 2026-01-01..2026-01-31",
                       "2026-01-01", "2026-02-01", "1", "10.00", "2.00", "USD"]
    assert len(rows) == 11


def test_void_and_out_of_turn_need_finance_or_admin(issued, support, finance, admin):
    customer, inv = issued
    assert support.post(f"/invoices/{inv.pk}/void", {"reason": "x"}).status_code == 403
    assert support.post(f"/customers/{customer.pk}/invoices").status_code == 403
    assert Invoice.objects.count() == 1
    assert finance.post(f"/invoices/{inv.pk}/void", {}).status_code == 422
    r = finance.post(f"/invoices/{inv.pk}/void", {"reason": "wrong address"})
    assert r.status_code == 201
    assert (r.json()["number"], r.json()["kind"], r.json()["credit_note_for"], r.json()["total"]["amount_minor"]) == (
        "CN-000001", "credit_note", "INV-000001", -9273)
    assert finance.post(f"/invoices/{inv.pk}/void", {"reason": "again"}).status_code == 409
    r = admin.post(f"/customers/{customer.pk}/invoices")
    assert r.status_code == 201 and r.json()["number"] == "INV-000002" and r.json()["out_of_turn"] is True
    # February's three fees (charged Feb 1 06:00) are on it, since out-of-turn takes everything up to now.
    assert [ln["amount"]["amount_minor"] for ln in r.json()["lines"]] == [1500, 999, 3000]
    assert support.get(f"/customers/{customer.pk}/collection-actions").json() == []
