"""Plans aligned to the customer's billing period (D92-D94), Kill Bill style: a frozen clock moved
day by day (the charge at 06:00, the invoice run at 08:00, as the worker runs them), exact amounts on
the dated lines of each month's invoice.

A postpaid customer invoiced monthly on the 1st (no tax, so the lines are the fees), signed up on
Jan 28 2025:
- TV, aligned, 31.00 a month in advance (main product); upgraded on Mar 11 to TV Plus, aligned,
  62.00; downgraded back on Apr 21;
- Internet, aligned, 31.00 a month in arrears (add-on), removed on Apr 16.
The same customer on anniversary plans pays whole months from the 28th: the issue's complaint.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.invoicing.tests.conftest import at
from tripleplay.ledger.selectors import funds_of, sum_of_entries

D = date


@pytest.fixture
def plans(db, actor):
    from tripleplay.catalog.services import create_plan, create_product

    tv = create_product(actor, code="tv", name="TV", kind="main", currency="USD", services=["iptv"])
    net = create_product(actor, code="net", name="Internet", kind="addon", currency="USD", services=["data"])

    def plan(product, code, name, **terms):
        return create_plan(actor, product, code=code, name=name, **terms)

    return {
        "tv": plan(tv, "tv-aligned", "TV", periodic_fee_minor=3100, alignment="billing_period"),
        "tv_plus": plan(tv, "tv-plus-aligned", "TV Plus", periodic_fee_minor=6200, alignment="billing_period"),
        "net": plan(net, "net-aligned", "Internet", periodic_fee_minor=3100, alignment="billing_period",
                    charge_mode="in_arrears"),
        "tv_anniversary": plan(tv, "tv-anniversary", "TV anniversary", periodic_fee_minor=3100),
        "net_anniversary": plan(net, "net-anniversary", "Internet anniversary", periodic_fee_minor=3100,
                                charge_mode="in_arrears"),
        "tv_quarterly": plan(tv, "tv-quarterly", "TV quarterly", periodic_fee_minor=9200, period="quarterly",
                             alignment="billing_period", minimum_term_periods=4, early_cancellation_fee_minor=5000),
        "net_annual": plan(net, "net-annual", "Internet annual", periodic_fee_minor=36500, period="annual",
                           alignment="billing_period", charge_mode="in_arrears"),
    }


def days(actor, first: date, last: date, on_day=None):
    """Every day from ``first`` to ``last``: ``on_day(day)`` at 05:00 (what people do), the charge at
    06:00, the invoice run at 08:00."""
    from tripleplay.subscriptions.services import charge_all

    day = first
    while day <= last:
        if on_day:
            at(day, hour=5)
            on_day(day)
        at(day, hour=6)
        assert not charge_all(actor, day).failures
        at(day, hour=8)
        assert not run_invoices(actor, day).failures
        day += timedelta(days=1)


def lines_by_month(customer) -> dict[date, list[tuple]]:
    """Invoice period start -> [(description, amount, service start, service end)], sorted."""
    return {inv.period_start: sorted((ln.description, ln.amount_minor, ln.period_start, ln.period_end)
                                     for ln in inv.lines.filter(section="subscriptions"))
            for inv in Invoice.objects.filter(customer=customer)}


def signed_up(actor, make_customer, main, addon, day: date):
    from tripleplay.customers.services import create_account

    at(day, hour=4)
    customer = make_customer("postpaid", credit_limit_minor=10_000_000, bill_cycle_day=1)
    account = create_account(actor, customer, main_plan=main, addon_plans=[addon], start_date=day)
    return customer, account


def test_aligned_month_by_month_with_upgrade_downgrade_and_cancellation(actor, make_customer, plans):
    from tripleplay.customers.services import change_main_product, remove_addon

    customer, account = signed_up(actor, make_customer, plans["tv"], plans["net"], D(2025, 1, 28))

    def operator(day):
        if day == D(2025, 3, 11):
            change_main_product(actor, account, plans["tv_plus"], effective_date=day)
        elif day == D(2025, 4, 16):
            remove_addon(actor, account, account.products.get(role="addon").pk, end_date=day)
        elif day == D(2025, 4, 21):
            change_main_product(actor, account, plans["tv"], effective_date=day)

    days(actor, D(2025, 1, 28), D(2025, 5, 1), operator)
    by_month = lines_by_month(customer)
    assert sorted(by_month) == [D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1), D(2025, 4, 1)]
    # January: Jan 28 - 31 is 4 of January's 31 days: 3100 x 4 / 31 = 400, in advance (Jan 28) and in
    # arrears (charged on Jan 31, its last day, so on January's invoice, not February's).
    assert by_month[D(2025, 1, 1)] == [
        ("Internet: subscription fee 2025-01-28..2025-01-31", 400, D(2025, 1, 28), D(2025, 2, 1)),
        ("TV: subscription fee 2025-01-28..2025-01-31", 400, D(2025, 1, 28), D(2025, 2, 1)),
    ]
    assert by_month[D(2025, 2, 1)] == [
        ("Internet: subscription fee 2025-02-01..2025-02-28", 3100, D(2025, 2, 1), D(2025, 3, 1)),
        ("TV: subscription fee 2025-02-01..2025-02-28", 3100, D(2025, 2, 1), D(2025, 3, 1)),
    ]
    # Upgraded on Mar 11: TV's March was paid on the 1st; its 21 unused days of 31 come back (3100 -
    # 3100 x 10 / 31 = 2100); TV Plus costs Mar 11 - 31, 6200 x 21 / 31 = 4200.
    assert by_month[D(2025, 3, 1)] == [
        ("Internet: subscription fee 2025-03-01..2025-03-31", 3100, D(2025, 3, 1), D(2025, 4, 1)),
        ("TV Plus: subscription fee 2025-03-11..2025-03-31", 4200, D(2025, 3, 11), D(2025, 4, 1)),
        ("TV: subscription fee 2025-03-01..2025-03-31", 3100, D(2025, 3, 1), D(2025, 4, 1)),
        ("TV: unused part of the subscription fee 2025-03-11..2025-03-31", -2100, D(2025, 3, 11), D(2025, 4, 1)),
    ]
    # Internet removed Apr 16: in arrears, its 15 used days of April's 30 (1550), charged Apr 15.
    # Downgraded Apr 21: TV Plus gives back 10 of 30 days (6200 - 4133.33 -> 2067), TV costs Apr 21 - 30,
    # 3100 x 10 / 30 = 1033.33 -> 1033. The pieces of TV Plus's April add up to its fee: 4133 + 2067.
    assert by_month[D(2025, 4, 1)] == [
        ("Internet: subscription fee 2025-04-01..2025-04-15", 1550, D(2025, 4, 1), D(2025, 4, 16)),
        ("TV Plus: subscription fee 2025-04-01..2025-04-30", 6200, D(2025, 4, 1), D(2025, 5, 1)),
        ("TV Plus: unused part of the subscription fee 2025-04-21..2025-04-30", -2067, D(2025, 4, 21),
         D(2025, 5, 1)),
        ("TV: subscription fee 2025-04-21..2025-04-30", 1033, D(2025, 4, 21), D(2025, 5, 1)),
    ]
    assert funds_of(customer).balance.minor == sum_of_entries(customer) == -(800 + 6200 + 8300 + 6716 + 3100)


def test_anniversary_plans_bill_whole_months_from_the_sign_up_day(actor, make_customer, plans):
    """Today's behaviour, kept for plans that say so: the 28th to the 27th, whole fees."""
    customer, _ = signed_up(actor, make_customer, plans["tv_anniversary"], plans["net_anniversary"], D(2025, 1, 28))
    days(actor, D(2025, 1, 28), D(2025, 3, 1))
    by_month = lines_by_month(customer)
    assert by_month[D(2025, 1, 1)] == [
        ("TV anniversary: subscription fee 2025-01-28..2025-02-27", 3100, D(2025, 1, 28), D(2025, 2, 28)),
    ]
    # In arrears, due on the period's last day (Feb 27): February's invoice, beside the next TV fee.
    assert by_month[D(2025, 2, 1)] == [
        ("Internet anniversary: subscription fee 2025-01-28..2025-02-27", 3100, D(2025, 1, 28), D(2025, 2, 28)),
        ("TV anniversary: subscription fee 2025-02-28..2025-03-27", 3100, D(2025, 2, 28), D(2025, 3, 28)),
    ]


@pytest.mark.parametrize("sign_up, aligned, anniversary", [
    # (sign-up day, [(invoice month, TV line amount, service start, end)] aligned, the same on anniversary),
    # on the first two invoices: aligned, a partial month then the whole next one from the 1st (nothing
    # to prorate when signed up on the 1st); anniversary, whole months from the sign-up day (clamped).
    (D(2025, 1, 29),
     [(D(2025, 1, 1), 300, D(2025, 1, 29), D(2025, 2, 1)), (D(2025, 2, 1), 3100, D(2025, 2, 1), D(2025, 3, 1))],
     [(D(2025, 1, 1), 3100, D(2025, 1, 29), D(2025, 2, 28)), (D(2025, 2, 1), 3100, D(2025, 2, 28), D(2025, 3, 29))]),
    (D(2025, 1, 30),
     [(D(2025, 1, 1), 200, D(2025, 1, 30), D(2025, 2, 1)), (D(2025, 2, 1), 3100, D(2025, 2, 1), D(2025, 3, 1))],
     [(D(2025, 1, 1), 3100, D(2025, 1, 30), D(2025, 2, 28)), (D(2025, 2, 1), 3100, D(2025, 2, 28), D(2025, 3, 30))]),
    (D(2025, 1, 31),
     [(D(2025, 1, 1), 100, D(2025, 1, 31), D(2025, 2, 1)), (D(2025, 2, 1), 3100, D(2025, 2, 1), D(2025, 3, 1))],
     [(D(2025, 1, 1), 3100, D(2025, 1, 31), D(2025, 2, 28)), (D(2025, 2, 1), 3100, D(2025, 2, 28), D(2025, 3, 31))]),
    (D(2025, 2, 1),
     [(D(2025, 2, 1), 3100, D(2025, 2, 1), D(2025, 3, 1)), (D(2025, 3, 1), 3100, D(2025, 3, 1), D(2025, 4, 1))],
     [(D(2025, 2, 1), 3100, D(2025, 2, 1), D(2025, 3, 1)), (D(2025, 3, 1), 3100, D(2025, 3, 1), D(2025, 4, 1))]),
    (D(2024, 2, 29),  # 3100 / 29 = 106.9
     [(D(2024, 2, 1), 107, D(2024, 2, 29), D(2024, 3, 1)), (D(2024, 3, 1), 3100, D(2024, 3, 1), D(2024, 4, 1))],
     [(D(2024, 2, 1), 3100, D(2024, 2, 29), D(2024, 3, 29)), (D(2024, 3, 1), 3100, D(2024, 3, 29), D(2024, 4, 29))]),
    (D(2025, 2, 28),  # 3100 / 28 = 110.7
     [(D(2025, 2, 1), 111, D(2025, 2, 28), D(2025, 3, 1)), (D(2025, 3, 1), 3100, D(2025, 3, 1), D(2025, 4, 1))],
     [(D(2025, 2, 1), 3100, D(2025, 2, 28), D(2025, 3, 28)), (D(2025, 3, 1), 3100, D(2025, 3, 28), D(2025, 4, 28))]),
], ids=["29th", "30th", "31st", "bill-cycle-day", "feb-29-leap", "feb-28"])
def test_sign_up_day_on_invoices(actor, make_customer, plans, sign_up, aligned, anniversary):
    for plan, expected in ((plans["tv"], aligned), (plans["tv_anniversary"], anniversary)):
        customer, _ = signed_up(actor, make_customer, plan, plans["net"], sign_up)
        # Through the second invoice after sign-up (the one that closes on the 1st after next).
        first_of_next = (sign_up.replace(day=1) + timedelta(days=32)).replace(day=1)
        days(actor, sign_up, (first_of_next + timedelta(days=32)).replace(day=1))
        got = [(month, amount, start, end) for month, lines in sorted(lines_by_month(customer).items())
               for description, amount, start, end in lines if description.startswith(plan.name + ":")]
        assert got == expected


def test_aligned_quarterly_with_minimum_term_and_annual_in_arrears(actor, make_customer, plans):
    """TV quarterly 92.00 in advance (4 quarters' minimum, 50.00 early-cancellation fee) and Internet
    annual 365.00 in arrears, both aligned, signed up Jan 28 2025, cancelled Jun 11 2025."""
    from tripleplay.customers.services import change_account_status

    customer, account = signed_up(actor, make_customer, plans["tv_quarterly"], plans["net_annual"], D(2025, 1, 28))

    def operator(day):
        if day == D(2025, 6, 11):
            change_account_status(actor, account, "closed", reason="moved away")

    days(actor, D(2025, 1, 28), D(2025, 7, 1), operator)
    by_month = lines_by_month(customer)
    # Period 0 is Jan 28 - 31 of the quarter Nov 1 - Feb 1 (92 days): 9200 x 4 / 92 = 400; of the
    # year Feb 1 2024 - Feb 1 2025 (366 days, in arrears, due Jan 31): 36500 x 4 / 366 = 398.9 -> 399.
    assert by_month[D(2025, 1, 1)] == [
        ("Internet annual: subscription fee 2025-01-28..2025-01-31", 399, D(2025, 1, 28), D(2025, 2, 1)),
        ("TV quarterly: subscription fee 2025-01-28..2025-01-31", 400, D(2025, 1, 28), D(2025, 2, 1)),
    ]
    assert by_month[D(2025, 2, 1)] == [
        ("TV quarterly: subscription fee 2025-02-01..2025-04-30", 9200, D(2025, 2, 1), D(2025, 5, 1)),
    ]
    assert by_month[D(2025, 3, 1)] == [] and by_month[D(2025, 4, 1)] == []
    assert by_month[D(2025, 5, 1)] == [
        ("TV quarterly: subscription fee 2025-05-01..2025-07-31", 9200, D(2025, 5, 1), D(2025, 8, 1)),
    ]
    # Closed Jun 11: the quarter May 1 - Aug 1 (92 days) used 41 days: 9200 - 4100 = 5100 back; the
    # minimum term (4 quarters from Feb 1: to Feb 1 2026) broken: 5000. The year Feb 1 2025 - Feb 1
    # 2026 (365 days) in arrears, 130 days used: 36500 x 130 / 365 = 13000, due Jun 10.
    assert by_month[D(2025, 6, 1)] == [
        ("Internet annual: subscription fee 2025-02-01..2025-06-10", 13000, D(2025, 2, 1), D(2025, 6, 11)),
        ("TV quarterly: early cancellation fee 2025-06-11..2026-01-31", 5000, D(2025, 6, 11), D(2026, 2, 1)),
        ("TV quarterly: unused part of the subscription fee 2025-06-11..2025-07-31", -5100, D(2025, 6, 11),
         D(2025, 8, 1)),
    ]
    assert funds_of(customer).balance.minor == sum_of_entries(customer)
