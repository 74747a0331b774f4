"""The month-long scenario (issue #6): exact lines and totals, tax per line, then idempotent runs,
gapless numbers, the next period's opening balance, out-of-turn invoices, void + credit note."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from tripleplay.core.errors import Conflict
from tripleplay.invoicing.models import Invoice, InvoicedEntry, InvoiceSeries
from tripleplay.invoicing.services import issue_out_of_turn, run_invoices, void_invoice
from tripleplay.invoicing.tests.conftest import at
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of, sum_of_entries
from tripleplay.ledger.services import post_debit, record_payment
from tripleplay.money import Money

D = date
JANUARY_LINES = [
    # (section, service, description, quantity, amount, tax, period)
    ("subscriptions", "iptv", "TV Basic monthly: activation fee 2026-01-01..2026-01-31", 1, 1000, 200,
     (D(2026, 1, 1), D(2026, 2, 1))),
    ("subscriptions", "iptv", "TV Basic monthly: subscription fee 2026-01-01..2026-01-31", 1, 1500, 300,
     (D(2026, 1, 1), D(2026, 2, 1))),
    ("subscriptions", "iptv", "Sports monthly: subscription fee 2026-01-01..2026-01-31", 1, 999, 200,
     (D(2026, 1, 1), D(2026, 2, 1))),
    ("subscriptions", "iptv", "Movies monthly: subscription fee 2026-01-16..2026-02-15", 1, 799, 160,
     (D(2026, 1, 16), D(2026, 2, 16))),
    ("subscriptions", "data", "Fiber 100 monthly: subscription fee 2026-01-01..2026-01-31", 1, 3000, 600,
     (D(2026, 1, 1), D(2026, 2, 1))),
    ("usage", "voice", "Voice usage: 3 calls", 3, 80, 16, None),
    ("ppv", "ppv", "PPV: Boxing night", 1, 499, 100, None),
    ("ppv", "ppv", "PPV: Concert", 1, 350, 70, None),
    ("credits", "", "Credit: outage compensation", 1, -500, -100, None),
    ("payments", "", "Payment (bank transfer)", 1, -2000, 0, None),
]


def lines(invoice):
    out = []
    for ln in invoice.lines.order_by("position"):
        period = (ln.period_start, ln.period_end) if ln.period_start else None
        out.append((ln.section, ln.service_type, ln.description, ln.quantity, ln.amount_minor, ln.tax_minor, period))
    return out


def test_january_invoice_has_exactly_the_expected_lines_and_totals(january, actor):
    c = january.customer
    at(D(2026, 2, 1), hour=8)
    report = run_invoices(actor, D(2026, 2, 1))
    assert (report.invoices, report.failures) == (1, [])
    inv = Invoice.objects.get(customer=c)
    assert lines(inv) == JANUARY_LINES
    assert (inv.number_text, inv.kind, inv.period_start, inv.period_end, inv.issue_date, inv.due_date) == (
        "INV-000001", "invoice", D(2026, 1, 1), D(2026, 2, 1), D(2026, 2, 1), D(2026, 2, 15))
    assert (inv.tax_rate, inv.rounding, inv.currency) == (Decimal("20"), "ROUND_HALF_UP", "USD")
    # 7727 x 20 % = 1545.4 on the total; per line (the documented rule) it is 1546.
    assert (inv.opening_balance_minor, inv.payments_minor, inv.subtotal_minor, inv.tax_minor, inv.total_minor,
            inv.amount_due_minor) == (0, 2000, 7727, 1546, 9273, 7273)
    # The January payment settles 20.00 of it.
    assert (inv.settled_minor, inv.status) == (2000, "partially_paid")
    # The tax is a ledger charge on the invoice; the balance owed is the amount due.
    tax = LedgerEntry.objects.get(customer=c, source="tax")
    assert (tax.kind, tax.amount_minor, tax.idempotency_key) == ("charge", -1546, "invoice:INV-000001:tax")
    assert InvoicedEntry.objects.filter(invoice=inv).count() == 13  # 11 on lines (3 calls on one) + tax
    feb_fees = LedgerEntry.objects.filter(customer=c, created_at__gte=datetime(2026, 2, 1, tzinfo=UTC),
                                          source="subscription")
    assert feb_fees.count() == 3 and not InvoicedEntry.objects.filter(entry__in=feb_fees).exists()
    invoiced_sum = sum(LedgerEntry.objects.filter(invoiced__invoice=inv).values_list("amount_minor", flat=True))
    assert invoiced_sum == -7273
    assert funds_of(c).balance.minor == sum_of_entries(c) == -7273 - 3000 - 1500 - 999


def test_second_run_issues_nothing_and_february_opens_with_january_due(january, actor):
    c = january.customer
    at(D(2026, 2, 1), hour=8)
    run_invoices(actor, D(2026, 2, 1))
    again = run_invoices(actor, D(2026, 2, 1))
    assert again.invoices == 0 and Invoice.objects.count() == 1
    at(D(2026, 2, 10))
    record_payment(actor, c, Money(7273, "USD"), idempotency_key="pay-feb", method="card")
    jan = Invoice.objects.get(number_text="INV-000001")
    assert (jan.settled_minor, jan.status) == (9273, "paid")
    at(D(2026, 3, 1), hour=1)
    run_invoices(actor, D(2026, 3, 1))
    feb = Invoice.objects.get(number_text="INV-000002")
    # February: TV 1500, Sports 999, Fiber 3000 (charged Feb 1); Movies' second period is charged on Feb 16
    # only by a charge run, and none ran: so three fees. Payment 72.73.
    assert [(ln[0], ln[4], ln[5]) for ln in lines(feb)] == [
        ("subscriptions", 1500, 300), ("subscriptions", 999, 200), ("subscriptions", 3000, 600),
        ("payments", -7273, 0)]
    assert (feb.opening_balance_minor, feb.payments_minor, feb.subtotal_minor, feb.tax_minor, feb.total_minor,
            feb.amount_due_minor, feb.period_start, feb.period_end) == (
        7273, 7273, 5499, 1100, 6599, 6599, D(2026, 2, 1), D(2026, 3, 1))
    assert feb.status == "unpaid"
    assert -funds_of(c).balance.minor == feb.amount_due_minor


def test_numbers_are_sequential_per_series_and_the_run_command_prints_progress(db, actor, catalog, make_customer,
                                                                                  capsys):
    at(D(2026, 1, 5))
    customers = [make_customer("postpaid", credit_limit_minor=10_000) for _ in range(7)]
    at(D(2026, 2, 1), hour=3)
    call_command("invoice-run", "--date", "2026-02-01", "--batch-size", "3")
    out = capsys.readouterr().out
    assert "7/7" in out and "Issued 7 invoices" in out
    numbers = list(Invoice.objects.order_by("number").values_list("number", "customer_id"))
    assert numbers == [(n, c.pk) for n, c in enumerate(customers, 1)]
    assert InvoiceSeries.objects.get(code="INV").next_number == 8
    call_command("invoice-run", "--date", "2026-02-01")
    assert Invoice.objects.count() == 7


def test_out_of_turn_invoice_then_the_regular_one_takes_the_rest(db, actor, catalog, make_customer, make_account):
    from tripleplay.subscriptions.services import charge_all

    at(D(2026, 1, 1))
    c = make_customer("postpaid", credit_limit_minor=100_000, tax_rate="10")
    make_account(c, main_plan=catalog.internet_plan)
    charge_all(actor, D(2026, 1, 1))
    at(D(2026, 1, 12))
    early = issue_out_of_turn(actor, c)
    assert (early.out_of_turn, early.period_start, early.period_end, early.subtotal_minor, early.tax_minor,
            early.issue_date, early.due_date) == (True, D(2026, 1, 1), D(2026, 1, 13), 3000, 300, D(2026, 1, 12),
                                                  D(2026, 1, 26))
    at(D(2026, 1, 20))
    post_debit(actor, c, Money(1234, "USD"), reason="router replacement", idempotency_key="router")
    at(D(2026, 2, 1), hour=1)
    run_invoices(actor, D(2026, 2, 1))
    regular = Invoice.objects.get(customer=c, out_of_turn=False)
    assert [(ln[0], ln[2], ln[4], ln[5]) for ln in lines(regular)] == [
        ("adjustments", "Debit: router replacement", 1234, 123)]
    assert (regular.number_text, regular.opening_balance_minor, regular.total_minor, regular.amount_due_minor) == (
        "INV-000002", 3300, 1357, 4657)


def test_void_issues_a_credit_note_and_frees_the_payment(january, actor):
    c = january.customer
    at(D(2026, 2, 1), hour=8)
    run_invoices(actor, D(2026, 2, 1))
    inv = Invoice.objects.get(customer=c)
    issued = lines(inv)
    at(D(2026, 2, 3))
    cn = void_invoice(actor, inv, reason="wrong tax rate")
    inv.refresh_from_db()
    assert (inv.status, inv.settled_minor, inv.void_reason) == ("void", 0, "wrong tax rate")
    assert lines(inv) == issued  # the issued invoice never changes
    assert (cn.kind, cn.number_text, cn.credit_note_for_id, cn.subtotal_minor, cn.tax_minor, cn.total_minor,
            cn.opening_balance_minor, cn.amount_due_minor, cn.status) == (
        "credit_note", "CN-000001", inv.pk, -7727, -1546, -9273, 7273, -2000, "issued")
    assert [ln.amount_minor for ln in cn.lines.order_by("position")] == [
        -1000, -1500, -999, -799, -3000, -80, -499, -350, 500]
    credit = LedgerEntry.objects.get(customer=c, source="credit_note")
    assert (credit.kind, credit.amount_minor) == ("credit", 9273)
    with pytest.raises(Conflict):
        void_invoice(actor, inv, reason="again")
    # The next invoice opens with the credit note's balance: 20.00 in the customer's favour; the freed
    # payment settles it.
    at(D(2026, 3, 1), hour=1)
    run_invoices(actor, D(2026, 3, 1))
    feb = Invoice.objects.get(number_text="INV-000002")
    assert (feb.opening_balance_minor, feb.total_minor, feb.amount_due_minor, feb.settled_minor, feb.status) == (
        -2000, 6599, 4599, 2000, "partially_paid")
    assert -funds_of(c).balance.minor == feb.amount_due_minor


def test_billing_periods_follow_the_bill_cycle_day():
    from tripleplay.invoicing.periods import next_period, period_containing

    assert period_containing("monthly", 31, D(2026, 2, 10)) == (D(2026, 1, 31), D(2026, 2, 28))
    assert period_containing("monthly", 31, D(2026, 3, 1)) == (D(2026, 2, 28), D(2026, 3, 31))
    assert period_containing("monthly", 15, D(2026, 3, 14)) == (D(2026, 2, 15), D(2026, 3, 15))
    assert period_containing("semimonthly", 1, D(2026, 1, 20)) == (D(2026, 1, 16), D(2026, 2, 1))
    assert period_containing("weekly", 1, D(2026, 1, 1)) == (D(2025, 12, 29), D(2026, 1, 5))  # Mondays
    assert period_containing("weekly", 7, D(2026, 1, 1)) == (D(2025, 12, 28), D(2026, 1, 4))  # Sundays
    assert period_containing("daily", 1, D(2026, 1, 1)) == (D(2026, 1, 1), D(2026, 1, 2))
    assert next_period("monthly", 1, D(2026, 1, 20)) == (D(2026, 1, 20), D(2026, 2, 1))


@pytest.mark.parametrize("amount, rate, mode, tax", [
    (999, "20", "ROUND_HALF_UP", 200), (-999, "20", "ROUND_HALF_UP", -200), (1, "50", "ROUND_HALF_UP", 1),
    (1, "50", "ROUND_HALF_EVEN", 0), (3, "50", "ROUND_HALF_EVEN", 2), (999, "20", "ROUND_DOWN", 199),
    (1000, "0", "ROUND_HALF_UP", 0), (1000, "7.25", "ROUND_HALF_UP", 73),
])
def test_line_tax_rounding(amount, rate, mode, tax):
    from tripleplay.invoicing.tax import line_tax

    assert line_tax(amount, Decimal(rate), "USD", mode) == tax


def test_weekly_customer_gets_one_invoice_per_week(db, actor, make_customer):
    at(D(2026, 1, 1))  # a Thursday
    c = make_customer("postpaid", credit_limit_minor=10_000, billing_period="weekly", bill_cycle_day=1)
    at(D(2026, 1, 20))
    run_invoices(actor, D(2026, 1, 20))
    assert list(Invoice.objects.filter(customer=c).order_by("number").values_list("period_start", "period_end")) == [
        (D(2025, 12, 29), D(2026, 1, 5)), (D(2026, 1, 5), D(2026, 1, 12)), (D(2026, 1, 12), D(2026, 1, 19))]


def test_a_closed_customer_gets_a_last_invoice_then_none_until_something_is_recorded(db, actor, make_customer):
    from tripleplay.customers.services import change_customer_status
    from tripleplay.ledger.services import post_charge

    at(D(2026, 1, 1))
    c = make_customer("postpaid", credit_limit_minor=100_000, tax_rate="10")
    post_charge(actor, c, Money(2000, "USD"), description="Installation", idempotency_key="inst")
    at(D(2026, 1, 20))
    change_customer_status(actor, c, "closed", reason="moved away")
    at(D(2026, 4, 1))
    run_invoices(actor, D(2026, 4, 1))
    assert list(Invoice.objects.filter(customer=c).values_list("period_start", "total_minor")) == [
        (D(2026, 1, 1), 2200)]
    record_payment(actor, c, Money(2200, "USD"), idempotency_key="final", method="card")
    at(D(2026, 5, 1))
    run_invoices(actor, D(2026, 5, 1))
    last = Invoice.objects.filter(customer=c).order_by("number").last()
    assert (last.period_start, last.payments_minor, last.total_minor, last.amount_due_minor) == (
        D(2026, 4, 1), 2200, 0, 0)


def test_first_schedules_are_written_per_billing_cycle_and_day(db, make_customer, django_assert_max_num_queries):
    from tripleplay.invoicing.models import BillingSchedule
    from tripleplay.invoicing.services import ensure_schedules

    at(D(2026, 1, 7))
    for _ in range(6):
        make_customer("postpaid", credit_limit_minor=100)
    make_customer("postpaid", credit_limit_minor=100, billing_period="weekly", bill_cycle_day=3)
    with django_assert_max_num_queries(3):  # the groups, then one INSERT per (cycle, day): two
        assert ensure_schedules() == 7
    assert sorted(set(BillingSchedule.objects.values_list("next_period_start", "next_period_end"))) == [
        (D(2026, 1, 1), D(2026, 2, 1)), (D(2026, 1, 7), D(2026, 1, 14))]
    assert ensure_schedules() == 0
