"""Bundle discounts on invoices, Kill Bill style (issue #13 item 4): a frozen clock moved day by day
(people at 05:00, the charge at 06:00, the invoice run at 08:00, as the worker runs them), exact
amounts on the dated lines of June 2025's invoice (30 days, closed on Jul 1).

A postpaid customer invoiced monthly on the 1st, no tax, one account with plans aligned to the
billing period, in advance: TV 30.00 (iptv, main), Internet 40.00 (data, add-on), Voice 20.00
(voice, add-on). The rule "Triple play": all three, 20 % off; any two of them, 10 % off; on the
iptv, data and voice fees.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tripleplay import clock
from tripleplay.bundles import services as bundles
from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of, sum_of_entries

D = date
JUNE, JULY = D(2025, 6, 1), D(2025, 7, 1)
THREE = ["iptv", "data", "voice"]


def at(day: date, hour: int) -> None:
    clock.freeze(datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC))


@pytest.fixture
def plans(db, actor):
    from tripleplay.catalog.services import create_plan, create_product

    def product(code, name, kind, service, fee):
        p = create_product(actor, code=code, name=name, kind=kind, currency="USD", services=[service])
        return create_plan(actor, p, code=f"{code}-monthly", name=name, periodic_fee_minor=fee,
                           alignment="billing_period")

    return {"tv": product("tv", "TV", "main", "iptv", 3000), "net": product("net", "Internet", "addon", "data", 4000),
            "voice": product("voice", "Voice", "addon", "voice", 2000)}


@pytest.fixture
def triple_play(db, actor):
    at(D(2025, 5, 1), 1)
    return bundles.create_rule(actor, name="Triple play", active_from=D(2025, 1, 1), tiers=[
        {"services": THREE, "at_least": 3, "percent": "20"},
        {"services": THREE, "at_least": 2, "percent": "10"},
    ])


def sign_up(actor, make_customer, plans, addons):
    from tripleplay.customers.services import create_account

    at(JUNE, 4)
    customer = make_customer("postpaid", credit_limit_minor=10_000_000, bill_cycle_day=1)
    account = create_account(actor, customer, main_plan=plans["tv"], addon_plans=[plans[a] for a in addons],
                             start_date=JUNE)
    return customer, account


def run_days(actor, first: date, last: date, on_day=None) -> None:
    from tripleplay.subscriptions.services import charge_all

    day = first
    while day <= last:
        if on_day:
            at(day, 5)
            on_day(day)
        at(day, 6)
        assert not charge_all(actor, day).failures
        at(day, 8)
        assert not run_invoices(actor, day).failures
        day += timedelta(days=1)


def june_lines(customer) -> list[tuple]:
    """June's invoice: (description, amount, service start, service end) in print order."""
    invoice = Invoice.objects.get(customer=customer, period_start=JUNE)
    return [(ln.description, ln.amount_minor, ln.period_start, ln.period_end) for ln in invoice.lines.order_by("position")]


def test_all_three_all_period(actor, make_customer, plans, triple_play):
    customer, _ = sign_up(actor, make_customer, plans, ["net", "voice"])
    run_days(actor, JUNE, JULY)
    assert june_lines(customer) == [
        ("TV: subscription fee 2025-06-01..2025-06-30", 3000, JUNE, JULY),
        ("Triple play: bundle discount on TV: subscription fee 2025-06-01..2025-06-30", -600, JUNE, JULY),
        ("Internet: subscription fee 2025-06-01..2025-06-30", 4000, JUNE, JULY),
        ("Triple play: bundle discount on Internet: subscription fee 2025-06-01..2025-06-30", -800, JUNE, JULY),
        ("Voice: subscription fee 2025-06-01..2025-06-30", 2000, JUNE, JULY),
        ("Triple play: bundle discount on Voice: subscription fee 2025-06-01..2025-06-30", -400, JUNE, JULY),
    ]
    invoice = Invoice.objects.get(customer=customer, period_start=JUNE)
    assert (invoice.subtotal_minor, invoice.total_minor) == (7200, 7200)
    entries = LedgerEntry.objects.filter(customer=customer, source="bundle").order_by("id")
    assert [(e.kind, e.amount_minor, e.service_type) for e in entries] == [
        ("credit", 600, "iptv"), ("credit", 800, "data"), ("credit", 400, "voice")]
    assert funds_of(customer).balance.minor == sum_of_entries(customer)


def test_internet_gained_on_the_10th(actor, make_customer, plans, triple_play):
    """TV and voice all June, internet from Jun 10: Jun 1-9 is two of three (10 %), Jun 10-30 all
    three (20 %). TV: 3000 x (10 % x 9 + 20 % x 21) / 30 = 510; voice 2000 x the same = 340; internet's
    fee is Jun 10-30 (4000 x 21 / 30 = 2800), all of its 21 days at 20 %: 560."""
    from tripleplay.customers.services import add_addon

    customer, account = sign_up(actor, make_customer, plans, ["voice"])

    def operator(day):
        if day == D(2025, 6, 10):
            add_addon(actor, account, plans["net"], start_date=day)

    run_days(actor, JUNE, JULY, operator)
    assert june_lines(customer) == [
        ("TV: subscription fee 2025-06-01..2025-06-30", 3000, JUNE, JULY),
        ("Triple play: bundle discount on TV: subscription fee 2025-06-01..2025-06-30", -510, JUNE, JULY),
        ("Internet: subscription fee 2025-06-10..2025-06-30", 2800, D(2025, 6, 10), JULY),
        ("Triple play: bundle discount on Internet: subscription fee 2025-06-10..2025-06-30", -560,
         D(2025, 6, 10), JULY),
        ("Voice: subscription fee 2025-06-01..2025-06-30", 2000, JUNE, JULY),
        ("Triple play: bundle discount on Voice: subscription fee 2025-06-01..2025-06-30", -340, JUNE, JULY),
    ]


def test_internet_lost_on_the_21st(actor, make_customer, plans, triple_play):
    """All three from Jun 1, internet removed from Jun 21: Jun 1-20 all three (20 %), Jun 21-30 two
    (10 %). TV: 3000 x (20 % x 20 + 10 % x 10) / 30 = 500; voice 2000 x the same = 333.33 -> 333;
    internet's fee counts only its own 20 days: 4000 x 20 % x 20 / 30 = 533.33 -> 533 (its unused
    10 days, 4000 - 2667 = 1333, came back the day it ended)."""
    from tripleplay.customers.services import remove_addon

    customer, account = sign_up(actor, make_customer, plans, ["net", "voice"])

    def operator(day):
        if day == D(2025, 6, 21):
            net = account.products.get(product__code="net")
            remove_addon(actor, account, net.pk, end_date=day)

    run_days(actor, JUNE, JULY, operator)
    assert june_lines(customer) == [
        ("TV: subscription fee 2025-06-01..2025-06-30", 3000, JUNE, JULY),
        ("Triple play: bundle discount on TV: subscription fee 2025-06-01..2025-06-30", -500, JUNE, JULY),
        ("Internet: subscription fee 2025-06-01..2025-06-30", 4000, JUNE, JULY),
        ("Internet: unused part of the subscription fee 2025-06-21..2025-06-30", -1333, D(2025, 6, 21), JULY),
        ("Triple play: bundle discount (20 of 30 days) on Internet: subscription fee 2025-06-01..2025-06-30", -533,
         JUNE, JULY),
        ("Voice: subscription fee 2025-06-01..2025-06-30", 2000, JUNE, JULY),
        ("Triple play: bundle discount on Voice: subscription fee 2025-06-01..2025-06-30", -333, JUNE, JULY),
    ]
    # July: TV and voice all month, two of three: 10 %.
    run_days(actor, D(2025, 7, 2), D(2025, 8, 1))
    july = Invoice.objects.get(customer=customer, period_start=JULY)
    assert [(ln.description, ln.amount_minor) for ln in july.lines.order_by("position")] == [
        ("TV: subscription fee 2025-07-01..2025-07-31", 3000),
        ("Triple play: bundle discount on TV: subscription fee 2025-07-01..2025-07-31", -300),
        ("Voice: subscription fee 2025-07-01..2025-07-31", 2000),
        ("Triple play: bundle discount on Voice: subscription fee 2025-07-01..2025-07-31", -200),
    ]


def test_two_of_three_tier(actor, make_customer, plans, triple_play):
    customer, _ = sign_up(actor, make_customer, plans, ["net"])
    run_days(actor, JUNE, JULY)
    assert [(d, a) for d, a, _, _ in june_lines(customer)] == [
        ("TV: subscription fee 2025-06-01..2025-06-30", 3000),
        ("Triple play: bundle discount on TV: subscription fee 2025-06-01..2025-06-30", -300),
        ("Internet: subscription fee 2025-06-01..2025-06-30", 4000),
        ("Triple play: bundle discount on Internet: subscription fee 2025-06-01..2025-06-30", -400),
    ]


def test_fixed_amount_is_capped_so_no_fee_goes_below_zero(actor, make_customer, plans):
    """35.00 off each of the TV and internet fees with both: the TV fee (30.00) goes to zero, not
    below; a second rule (20 % off TV) finds nothing left of it."""
    at(D(2025, 5, 1), 1)
    bundles.create_rule(actor, name="TV + internet, 35.00 off", currency="USD", active_from=JUNE,
                        tiers=[{"services": ["iptv", "data"], "amount_minor": 3500}])
    bundles.create_rule(actor, name="TV 20 %", active_from=JUNE, fee_service_types=["iptv"],
                        tiers=[{"services": ["iptv"], "percent": "20"}])
    customer, _ = sign_up(actor, make_customer, plans, ["net"])
    run_days(actor, JUNE, JULY)
    assert [(d, a) for d, a, _, _ in june_lines(customer)] == [
        ("TV: subscription fee 2025-06-01..2025-06-30", 3000),
        ("TV + internet, 35.00 off: bundle discount on TV: subscription fee 2025-06-01..2025-06-30", -3000),
        ("Internet: subscription fee 2025-06-01..2025-06-30", 4000),
        ("TV + internet, 35.00 off: bundle discount on Internet: subscription fee 2025-06-01..2025-06-30", -3500),
    ]
    assert Invoice.objects.get(customer=customer, period_start=JUNE).total_minor == 500


def test_rerun_gives_no_second_discount(actor, make_customer, plans, triple_play):
    from tripleplay.invoicing.lines import EntryRow

    customer, _ = sign_up(actor, make_customer, plans, ["net", "voice"])
    run_days(actor, JUNE, JULY)
    at(JULY, 9)
    assert run_invoices(actor, JULY).invoices == 0
    # The discounts asked for again, for the same fees (as a retried batch would): none posted twice.
    fees = [EntryRow(e.id, e.kind, e.amount_minor, e.source, e.service_type, e.description, e.data)
            for e in LedgerEntry.objects.filter(customer=customer, source="subscription", invoiced__isnull=False)]
    assert bundles.post_fee_discounts(actor, clock.now(), [(customer.pk, "USD", fees)], entry=EntryRow) == {}
    assert sorted(LedgerEntry.objects.filter(customer=customer, source="bundle").values_list("amount_minor",
                                                                                          flat=True)) == [400, 600, 800]
    assert Invoice.objects.filter(customer=customer).count() == 1
    # June net of its discounts, and July's fees charged on Jul 1 (not invoiced yet).
    assert funds_of(customer).balance.minor == sum_of_entries(customer) == -(9000 - 1800 + 9000)


def test_ended_rule_discounts_only_its_days(actor, make_customer, plans):
    """A rule in force until Jun 16 (exclusive): 15 of June's 30 days at 20 %: TV 300."""
    at(D(2025, 5, 1), 1)
    bundles.create_rule(actor, name="Spring offer", active_from=D(2025, 3, 1), active_until=D(2025, 6, 16),
                        tiers=[{"services": THREE, "at_least": 2, "percent": "20"}], fee_service_types=["iptv"])
    customer, _ = sign_up(actor, make_customer, plans, ["net"])
    run_days(actor, JUNE, JULY)
    assert [(d, a) for d, a, _, _ in june_lines(customer)][:2] == [
        ("TV: subscription fee 2025-06-01..2025-06-30", 3000),
        ("Spring offer: bundle discount (15 of 30 days) on TV: subscription fee 2025-06-01..2025-06-30", -300),
    ]


def test_discount_lines_on_the_pdf_and_csv(actor, make_customer, plans, triple_play):
    from io import BytesIO

    from pypdf import PdfReader

    from tripleplay.invoicing.documents import lines_csv, render_pdf

    customer, _ = sign_up(actor, make_customer, plans, ["net", "voice"])
    run_days(actor, JUNE, JULY)
    invoice = Invoice.objects.get(customer=customer, period_start=JUNE)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(render_pdf(invoice))).pages).split())
    for service, amount in (("TV", "6.00"), ("Internet", "8.00"), ("Voice", "4.00")):
        assert (f"Triple play: bundle discount on {service}: subscription fee 2025-06-01..2025-06-30"
                f" 01 Jun 2025 - 30 Jun 2025 1 -${amount}") in text
    assert "Charges before tax $72.00" in text
    assert ("Triple play: bundle discount on Voice: subscription fee 2025-06-01..2025-06-30,"
            "2025-06-01,2025-07-01,1,-4.00,0.00,USD") in lines_csv(invoice)


@pytest.mark.django_db
def test_demo_bundle_rule_on_bobs_invoice():
    """The demo's "TV + internet + voice, 20 % off" (demo.py): Bob has TV Premium and a voice line, two
    of three: 10 % off each of those fees (2999 -> 299.9 -> 300, 999 -> 99.9 -> 100)."""
    from tripleplay import demo
    from tripleplay.core.actors import Actor
    from tripleplay.demo_invoicing import issue_demo_invoices
    from tripleplay.subscriptions.services import charge_all

    clock.freeze(datetime(2026, 3, 10, 12, tzinfo=UTC))
    demo.seed()
    charge_all(Actor.system("test"), D(2026, 3, 10))  # the worker's charge job, before the invoices
    issue_demo_invoices()
    bob = Invoice.objects.get(customer__name="Bob Chen")
    got = [(ln.description, ln.amount_minor) for ln in bob.lines.filter(description__contains="bundle discount")]
    rule = "TV + internet + voice, 20 % off: bundle discount on"
    assert got == [(f"{rule} TV Premium, monthly: subscription fee 2026-03-10..2026-04-09", -300),
                   (f"{rule} Voice line, monthly: subscription fee 2026-03-10..2026-04-09", -100)]
