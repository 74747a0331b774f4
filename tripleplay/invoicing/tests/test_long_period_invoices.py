"""Quarterly and annual plans on a monthly invoice (D70), Kill Bill style: a frozen clock moved through
2026, the charge and the invoice run on every 1st, exact amounts on dated invoice lines.

A postpaid customer (tax 20 %, invoiced monthly on the 1st) with, from Jan 1 2026:
- Fiber annual: 1200.00 a year in advance (main product);
- TV quarterly: 45.00 a quarter in arrears (add-on), removed on May 16;
- Sports annual: 120.00 a year in advance, a one-year minimum term and a 30.00 early-cancellation fee
  (add-on), removed on May 16.
A plan period is not the invoice cycle: each fee lands on the invoice of the month it is charged in
(in advance: the period's first day; in arrears: its last day of service, D93), and the line carries
the service dates it pays for. Here the charge runs only on the 1st (and on May 16), so a fee in
arrears due on the 31st is charged the next morning and lands on the next month's invoice; with the
worker's daily charge it lands on its own month's (test_aligned_invoices.py).
"""

from __future__ import annotations

from datetime import date

import pytest

from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.invoicing.tests.conftest import at
from tripleplay.ledger.selectors import funds_of, sum_of_entries

D = date


@pytest.fixture
def long_plans(db, actor, make_customer):
    from tripleplay.catalog.services import create_plan, create_product

    def plan(code, name, kind, service, **terms):
        product = create_product(actor, code=code, name=name, kind=kind, currency="USD", services=[service])
        return create_plan(actor, product, code=f"{code}-plan", name=name, **terms)

    return {
        "fiber": plan("fiber-annual", "Fiber annual", "main", "data", periodic_fee_minor=120000, period="annual"),
        "tv": plan("tv-quarterly", "TV quarterly", "addon", "iptv", periodic_fee_minor=4500, period="quarterly",
                   charge_mode="in_arrears"),
        "sports": plan("sports-annual", "Sports annual", "addon", "iptv", periodic_fee_minor=12000, period="annual",
                       minimum_term_periods=1, early_cancellation_fee_minor=3000),
    }


def subscription_lines(invoice):
    return [(ln.description, ln.amount_minor, ln.tax_minor, ln.period_start, ln.period_end)
            for ln in invoice.lines.filter(section="subscriptions").order_by("position")]


def month(actor, day: date):
    """Charge on ``day`` early in the morning, then run the invoices of the period that closed."""
    from tripleplay.subscriptions.services import charge_all

    at(day, hour=6)
    assert not charge_all(actor, day).failures
    at(day, hour=8)
    assert not run_invoices(actor, day).failures


def test_quarterly_in_arrears_and_annual_in_advance_on_monthly_invoices(actor, make_customer, long_plans):
    from tripleplay.customers.services import create_account, remove_addon

    at(D(2026, 1, 1))
    customer = make_customer("postpaid", credit_limit_minor=10_000_000, tax_rate="20")
    account = create_account(actor, customer, main_plan=long_plans["fiber"],
                             addon_plans=[long_plans["tv"], long_plans["sports"]], start_date=D(2026, 1, 1))
    month(actor, D(2026, 1, 1))
    for m in (2, 3, 4, 5):
        month(actor, D(2026, m, 1))
    at(D(2026, 5, 16))
    for assignment in account.products.filter(role="addon"):
        remove_addon(actor, account, assignment.pk, end_date=D(2026, 5, 16))
    month(actor, D(2026, 5, 16))
    for m in (6, 7, 8):
        month(actor, D(2026, m, 1))

    by_month = {inv.period_start: subscription_lines(inv) for inv in Invoice.objects.filter(customer=customer)}
    assert sorted(by_month.pop(D(2026, 1, 1))) == [
        ("Fiber annual: subscription fee 2026-01-01..2026-12-31", 120000, 24000, D(2026, 1, 1), D(2027, 1, 1)),
        ("Sports annual: subscription fee 2026-01-01..2026-12-31", 12000, 2400, D(2026, 1, 1), D(2027, 1, 1)),
    ]
    # The first quarter in arrears, due Mar 31, is charged by the run of Apr 1: April's invoice.
    assert by_month.pop(D(2026, 4, 1)) == [
        ("TV quarterly: subscription fee 2026-01-01..2026-03-31", 4500, 900, D(2026, 1, 1), D(2026, 4, 1)),
    ]
    # Removed on May 16: TV's second quarter costs its 45 used days of 91 (2225.27 -> 2225); Sports gives
    # back 230 unused days of 365 (12000 - 135/365 of it = 12000 - 4438) and charges the early-cancellation
    # fee, its minimum term (to Jan 1 2027) not served.
    assert sorted(by_month.pop(D(2026, 5, 1))) == sorted([
        ("TV quarterly: subscription fee 2026-04-01..2026-05-15", 2225, 445, D(2026, 4, 1), D(2026, 5, 16)),
        ("Sports annual: unused part of the subscription fee 2026-05-16..2026-12-31", -7562, -1512,
         D(2026, 5, 16), D(2027, 1, 1)),
        ("Sports annual: early cancellation fee 2026-05-16..2026-12-31", 3000, 600, D(2026, 5, 16), D(2027, 1, 1)),
    ])
    # No other month has a subscription line: the annual fibre fee is not charged again before Jan 1 2027.
    assert all(lines == [] for lines in by_month.values())
    assert funds_of(customer).balance.minor == sum_of_entries(customer)
