"""Invoicing test wiring: the month-long January 2026 scenario of issue #6, on a frozen clock.

A postpaid customer (tax 20 %, monthly on the 1st) with
- an internet account: Fiber 100 (30.00 a month in advance);
- a TV account: TV Basic (15.00 a month + 10.00 activation), add-on Sports (9.99) from Jan 1 and add-on
  Movies (7.99) added on Jan 16 (anniversary billing, D19: a full fee for Jan 16 - Feb 15);
- a phone line: three calls rated at 0.10 a minute, 60 s increments (0.20 + 0.10 + 0.50);
- two pay-per-view purchases (4.99 and 3.50), authorized as a hold and captured as PPV charges;
- a payment of 20.00 on Jan 20 and a credit of 5.00 on Jan 25.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from tripleplay import clock
from tripleplay.money import Money


def at(day: date, hour: int = 10) -> None:
    clock.freeze(datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC))


@dataclass
class Scenario:
    customer: object
    internet: object
    tv: object
    phone: object


def build_january(actor, catalog, make_customer, *, name="January customer", email="jan@example.com",
                  phone="15550100") -> Scenario:
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.customers.services import add_addon, create_account
    from tripleplay.ledger.services import capture_hold, place_hold, post_credit, record_payment
    from tripleplay.rating.services import create_rate_table, ingest, set_rate
    from tripleplay.subscriptions.services import charge_all

    at(date(2026, 1, 1))
    customer = make_customer("postpaid", credit_limit_minor=1_000_000, name=name, email=email, tax_rate="20",
                             address_line1="1 Main Street", city="Springfield", postal_code="12345", country="US")
    internet = create_account(actor, customer, main_plan=catalog.internet_plan, login=f"{phone}-net")
    tv = create_account(actor, customer, main_plan=catalog.tv_plan, addon_plans=[catalog.sports_plan],
                        login=f"{phone}-tv")
    voice = _voice_plan(actor, create_plan, create_product, create_rate_table, set_rate)
    line = create_account(actor, customer, main_plan=voice, phone_number=phone)
    charge_all(actor, date(2026, 1, 1))

    at(date(2026, 1, 10))
    results = ingest(actor, [
        {"id": f"{phone}-c1", "service_type": "voice", "caller": phone, "callee": "15559999", "duration_seconds": 61,
         "started_at": "2026-01-10T09:00:00Z"},
        {"id": f"{phone}-c2", "service_type": "voice", "caller": phone, "callee": "15559998", "duration_seconds": 30,
         "started_at": "2026-01-10T09:30:00Z"},
        {"id": f"{phone}-c3", "service_type": "voice", "caller": phone, "callee": "15559997", "duration_seconds": 300,
         "started_at": "2026-01-10T09:45:00Z"},
    ])
    assert [(r.status, r.cost_minor) for r in results] == [("rated", 20), ("rated", 10), ("rated", 50)]
    for n, (title, price) in enumerate((("Boxing night", 499), ("Concert", 350)), 1):
        hold = place_hold(actor, customer, Money(price, "USD"), idempotency_key=f"ppv-{phone}-{n}", account=tv)
        capture_hold(actor, hold, description=f"PPV: {title}", service_type="ppv", source="ppv")

    at(date(2026, 1, 16))
    add_addon(actor, tv, catalog.movies_plan, start_date=date(2026, 1, 16))
    charge_all(actor, date(2026, 1, 16))
    at(date(2026, 1, 20))
    record_payment(actor, customer, Money(2000, "USD"), idempotency_key=f"pay-{phone}-jan", method="bank_transfer")
    at(date(2026, 1, 25))
    post_credit(actor, customer, Money(500, "USD"), reason="outage compensation", idempotency_key=f"credit-{phone}")
    # February's fees are charged on Feb 1, after the January period's end: they belong to February.
    at(date(2026, 2, 1), hour=6)
    charge_all(actor, date(2026, 2, 1))
    return Scenario(customer, internet, tv, line)


_voice = {}


def _voice_plan(actor, create_plan, create_product, create_rate_table, set_rate):
    from tripleplay.catalog.models import Product

    product = Product.objects.filter(code="voice-basic").first()
    if product is None:
        product = create_product(actor, code="voice-basic", name="Voice Basic", kind="main", currency="USD",
                                 services=["voice"])
        create_plan(actor, product, code="voice-basic-monthly", name="Voice Basic monthly", periodic_fee_minor=0)
        table = create_rate_table(actor, product, service_type="voice", name="Voice rates")
        set_rate(actor, table, prefix="", price_per_unit_micros=100_000, first_increment=60, next_increment=60)
    return product.plans.get(code="voice-basic-monthly")


@pytest.fixture
def january(db, actor, catalog, make_customer) -> Scenario:
    return build_january(actor, catalog, make_customer)
