"""A promoted fee inside a bundle (issue #13): the bundle's discount is taken from the promotional price,
the invoice run reads no promotion (the fee entry carries it) and makes no query per customer.

June 2025, a postpaid customer invoiced monthly on the 1st, no tax, plans aligned to the billing period
and charged in advance: TV 30.00 (iptv, main; "Three months at half price": 15.00), Internet 40.00
(data), Voice 20.00 (voice); the rule "Triple play": all three, 20 % off.
"""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tripleplay.bundles import services as bundles
from tripleplay.bundles.tests.test_bundle_invoices import JULY, JUNE, THREE, at
from tripleplay.customers.services import create_account
from tripleplay.invoicing.models import Invoice
from tripleplay.invoicing.services import run_invoices
from tripleplay.promotions.services import create_coupon, create_promotion, sign_up_account
from tripleplay.subscriptions.services import charge_all


def world(actor):
    from tripleplay.catalog.services import create_plan, create_product

    def plan(code, name, kind, service, fee):
        p = create_product(actor, code=code, name=name, kind=kind, currency="USD", services=[service])
        return create_plan(actor, p, code=f"{code}-monthly", name=name, periodic_fee_minor=fee,
                           alignment="billing_period")

    at(date(2025, 5, 1), 1)
    plans = (plan("tv", "TV", "main", "iptv", 3000), plan("net", "Internet", "addon", "data", 4000),
             plan("voice", "Voice", "addon", "voice", 2000))
    bundles.create_rule(actor, name="Triple play", active_from=date(2025, 1, 1),
                        tiers=[{"services": THREE, "at_least": 3, "percent": "20"}])
    half = create_promotion(actor, code="half-3", name="Three months at half price", product=plans[0].product,
                            kind="price", periods=3, percent_off=50)
    create_coupon(actor, code="HALF3", promotion=half)
    return plans


def sign_up(actor, make_customer, plans, n: int, *, coupon: bool):
    at(JUNE, 4)
    customers = []
    for _ in range(n):
        customer = make_customer("postpaid", credit_limit_minor=10_000_000, bill_cycle_day=1)
        fields = dict(main_plan=plans[0], addon_plans=list(plans[1:]))
        if coupon:
            sign_up_account(actor, customer, coupon_code="HALF3", **fields)
        else:
            create_account(actor, customer, **fields)
        customers.append(customer)
    at(JUNE, 6)
    assert not charge_all(actor, JUNE).failures
    return customers


def june_invoice(customer):
    invoice = Invoice.objects.get(customer=customer, period_start=JUNE)
    return (invoice.total_minor,
            sorted((line.description, line.amount_minor) for line in invoice.lines.order_by("position")))


def invoice_run_queries(actor, invoices: int) -> int:
    at(JULY, 8)
    with CaptureQueriesContext(connection) as queries:
        report = run_invoices(actor, JULY, batch_size=100)
    assert (report.failures, report.invoices) == ([], invoices)
    return len(queries)


def test_the_bundle_discounts_the_promotional_price(db, actor, make_customer):
    plans = world(actor)
    [customer] = sign_up(actor, make_customer, plans, 1, coupon=True)
    at(JULY, 8)
    assert not run_invoices(actor, JULY).failures
    half = "TV: subscription fee (Three months at half price) 2025-06-01..2025-06-30"
    assert june_invoice(customer) == (1500 + 4000 + 2000 - 300 - 800 - 400, sorted([
        (half, 1500),
        ("Internet: subscription fee 2025-06-01..2025-06-30", 4000),
        ("Voice: subscription fee 2025-06-01..2025-06-30", 2000),
        (f"Triple play: bundle discount on {half}", -300),  # 20 % of the promotional 1500
        ("Triple play: bundle discount on Internet: subscription fee 2025-06-01..2025-06-30", -800),
        ("Triple play: bundle discount on Voice: subscription fee 2025-06-01..2025-06-30", -400),
    ]))


def test_the_invoice_run_makes_no_query_per_promoted_customer(db, actor, make_customer):
    """Two customers with the promotion and the bundle, then four: the run's queries are the same in
    number (one batch each), and the same as for customers on the bundle alone. (A first run warms
    up: the invoice series row and cached lookups.)"""
    plans = world(actor)
    sign_up(actor, make_customer, plans, 1, coupon=True)
    invoice_run_queries(actor, 1)
    sign_up(actor, make_customer, plans, 2, coupon=True)
    few = invoice_run_queries(actor, 2)
    sign_up(actor, make_customer, plans, 4, coupon=True)
    more = invoice_run_queries(actor, 4)
    sign_up(actor, make_customer, plans, 4, coupon=False)
    plain = invoice_run_queries(actor, 4)
    assert few == more == plain, (few, more, plain)
