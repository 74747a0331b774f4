"""Every row the invoice run writes, compared with a stored snapshot (data/invoice_run_rows.json).

The snapshot was taken with the run as it was before the throughput work of D60-D64 (commit dc9d796):
a change of the run's batch path must write exactly the same invoices, lines, entry marks, tax entries,
audit events, schedule rows and balances, on SQLite and on PostgreSQL. Ids are replaced by what
identifies a row (an invoice's number, a customer's name, an entry's time, amount and description), so the
comparison does not depend on sequences.

The customers: the January scenario (per-call usage) and its bulk-rated twin, a weekly customer caught up
over four weeks, a customer with only a credit (negative tax), one with nothing recorded (an invoice
with no lines and no tax entry), one that overpaid (settled, paid), and a closed customer's last invoice.
Batches of two, so several batches and a batch boundary inside the weekly customer's catch-up.

Regenerate only when a change of the written rows is intended and documented:
``TRIPLEPLAY_WRITE_SNAPSHOT=1 ./scripts/test.sh tripleplay/invoicing/tests/test_invoice_run_rows.py``.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from tripleplay.audit.models import AuditEvent
from tripleplay.invoicing.models import BillingSchedule, Invoice, InvoicedEntry, InvoiceLine
from tripleplay.invoicing.selectors import usage_annex
from tripleplay.invoicing.services import run_invoices
from tripleplay.invoicing.tests.conftest import at, build_january
from tripleplay.ledger.models import Funds, LedgerEntry
from tripleplay.money import Money

SNAPSHOT = Path(__file__).parent / "data" / "invoice_run_rows.json"
D = date


def _customers(actor, catalog, make_customer):
    from tripleplay.customers.services import change_customer_status
    from tripleplay.ledger.services import post_charge, post_credit, record_payment

    build_january(actor, catalog, make_customer)
    build_january(actor, catalog, make_customer, name="Bulk customer", email="bulk@example.com", phone="15550200",
                  bulk_rating=True)
    at(D(2026, 1, 1))
    weekly = make_customer("postpaid", credit_limit_minor=100_000, name="Weekly customer", tax_rate="8.5",
                           billing_period="weekly", bill_cycle_day=3)
    credit_only = make_customer("postpaid", credit_limit_minor=100_000, name="Credit-only customer", tax_rate="20")
    make_customer("postpaid", credit_limit_minor=100_000, name="Quiet customer", tax_rate="20")
    payer = make_customer("postpaid", credit_limit_minor=100_000, name="Overpaying customer", tax_rate="10")
    closing = make_customer("postpaid", credit_limit_minor=100_000, name="Closing customer", tax_rate="10")
    for day, amount in ((2, 1234), (9, 999), (17, 5), (24, 3333)):
        at(D(2026, 1, day))
        post_charge(actor, weekly, Money(amount, "USD"), description=f"Install visit {day}",
                    idempotency_key=f"weekly-{day}")
    at(D(2026, 1, 12))
    post_credit(actor, credit_only, Money(333, "USD"), reason="goodwill", idempotency_key="credit-only")
    post_charge(actor, payer, Money(1000, "USD"), description="Router", idempotency_key="router")
    record_payment(actor, payer, Money(5000, "USD"), idempotency_key="payer-jan", method="card")
    post_charge(actor, closing, Money(2000, "USD"), description="Installation", idempotency_key="inst")
    at(D(2026, 1, 20))
    change_customer_status(actor, closing, "closed", reason="moved away")


def _rows() -> dict:
    inv_no = dict(Invoice.objects.values_list("id", "number_text"))
    names = dict(Invoice.objects.values_list("customer_id", "customer__name"))
    names.update(BillingSchedule.objects.values_list("customer_id", "customer__name"))
    skip = {"id", "customer", "credit_note_for"}
    invoices = []
    for inv in Invoice.objects.order_by("number"):
        row = {f.attname: getattr(inv, f.attname) for f in Invoice._meta.concrete_fields if f.name not in skip}
        row["customer"] = names[inv.customer_id]
        invoices.append(row)
    lines = [
        {"invoice": inv_no[ln.invoice_id], **{f.attname: getattr(ln, f.attname) for f in InvoiceLine._meta.concrete_fields
                                              if f.name not in ("id", "invoice")}}
        for ln in InvoiceLine.objects.order_by("invoice__number", "position")]
    # An entry by what it says (some idempotency keys hold ids: "hold:<id>:capture").
    marks = sorted((names[m.entry.customer_id], str(m.entry.created_at), m.entry.kind, m.entry.amount_minor,
                    m.entry.description, inv_no[m.invoice_id]) for m in InvoicedEntry.objects.select_related("entry"))
    taxes = [{**{f.attname: getattr(e, f.attname) for f in LedgerEntry._meta.concrete_fields
                 if f.name not in ("id", "customer")}, "customer": names[e.customer_id]}
             for e in LedgerEntry.objects.filter(source="tax").order_by("idempotency_key")]
    audit = [{"action": a.action, "object_type": a.object_type, "invoice": inv_no[int(a.object_id)],
              "data": {**a.data, "customer": names[a.data["customer"]]},
              "at": a.at, "actor": [a.actor_kind, a.actor_ref, a.actor_name]}
             for a in AuditEvent.objects.filter(action="invoice.issued").order_by("id")]
    schedules = sorted((names[s.customer_id], s.next_period_start, s.next_period_end, s.balance_minor)
                       for s in BillingSchedule.objects.all())
    funds = sorted((names[f.customer_id], f.balance_minor, f.held_minor) for f in Funds.objects.all()
                   if f.customer_id in names)
    annex = {inv_no[i.pk]: [x["cost_minor"] for x in usage_annex(i)] for i in Invoice.objects.order_by("number")}
    return json.loads(json.dumps({"invoices": invoices, "lines": lines, "marks": marks, "tax_entries": taxes,
                                  "audit": audit, "schedules": schedules, "funds": funds, "usage_annex": annex},
                                 default=str))


def test_the_run_writes_exactly_the_snapshot_rows(db, actor, catalog, make_customer):
    _customers(actor, catalog, make_customer)
    at(D(2026, 2, 1), hour=8)
    report = run_invoices(actor, D(2026, 2, 1), batch_size=2)
    assert report.failures == []
    rows = _rows()
    if os.environ.get("TRIPLEPLAY_WRITE_SNAPSHOT"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    for part in expected:  # part by part: a failure names the table
        assert rows[part] == expected[part], part
    assert report.invoices == len(expected["invoices"]) == 10


def _by_period(rows: dict) -> dict:
    """The rows with each invoice number replaced by its customer and period (threads number the
    invoices in the order their batches commit), the numbers' hashes left out, and lists sorted."""
    names = {i["number_text"]: f"<{i['customer']} {i['period_start']}>" for i in rows["invoices"]}
    text = json.dumps(rows)
    for number, name in names.items():
        text = text.replace(number, name)
    out = json.loads(text)
    for i in out["invoices"]:
        del i["number"]
    for e in out["tax_entries"]:
        del e["request_fingerprint"]  # a hash of the number
    return {part: sorted(json.dumps(x, sort_keys=True) for x in v) if isinstance(v, list) else v
            for part, v in out.items()}


@pytest.mark.postgres
def test_threads_write_the_same_rows_numbered_in_commit_order(transactional_db, actor, catalog, make_customer):
    """--threads (D62): the same rows as one loop; only which invoice gets which number differs."""
    _customers(actor, catalog, make_customer)
    at(D(2026, 2, 1), hour=8)
    report = run_invoices(actor, D(2026, 2, 1), batch_size=2, threads=3)
    assert (report.failures, report.invoices) == ([], 10)
    rows = _rows()
    assert sorted(i["number"] for i in rows["invoices"]) == list(range(1, 11))  # gapless
    expected = _by_period(json.loads(SNAPSHOT.read_text()))
    got = _by_period(rows)
    for part in expected:
        assert got[part] == expected[part], part
