"""Rating test wiring: a voice product (10 free minutes a month) with a rate table, a messaging add-on,
the fixture catalog's internet plan (100,000 MB a month) with a data rate table, and a prepaid
customer with one account holding all of them. The clock is frozen at ``T0``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tripleplay import clock

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PHONE = "15550001"


@dataclass
class World:
    customer: object
    account: object
    voice_plan: object
    voice_table: object
    data_table: object


@pytest.fixture
def world(db, actor, catalog, make_customer) -> World:
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.customers.services import create_account
    from tripleplay.rating.services import create_rate_table, set_rate

    clock.freeze(T0)
    voice = create_product(actor, code="voice", name="Voice", kind="main", currency="USD",
                           services=["voice", "messaging"])
    voice_plan = create_plan(actor, voice, code="voice-monthly", name="Voice monthly", periodic_fee_minor=0,
                             allowances=[{"service_type": "voice", "unit": "minutes", "quantity": 10}])
    vt = create_rate_table(actor, voice, service_type="voice", name="Voice rates")
    set_rate(actor, vt, prefix="", price_per_unit_micros=100_000, first_increment=60, next_increment=60)
    set_rate(actor, vt, prefix="44", price_per_unit_micros=200_000, connection_fee_micros=50_000,
             first_increment=30, next_increment=6)
    set_rate(actor, vt, prefix="447", price_per_unit_micros=300_000, first_increment=1, next_increment=1)
    mt = create_rate_table(actor, voice, service_type="messaging", name="SMS rates")
    set_rate(actor, mt, prefix="", price_per_unit_micros=50_000)
    dt = create_rate_table(actor, catalog.internet, service_type="data", name="Data rates")
    set_rate(actor, dt, prefix="", price_per_unit_micros=10_000, first_increment=100, next_increment=100)
    customer = make_customer("prepaid")
    account = create_account(actor, customer, main_plan=voice_plan, phone_number=PHONE)
    return World(customer, account, voice_plan, vt, dt)


def call(ext, callee="15559999", seconds=61, caller=PHONE, at="2026-03-10T12:00:00Z", **extra):
    return {"id": ext, "service_type": "voice", "caller": caller, "callee": callee, "duration_seconds": seconds,
            "started_at": at, **extra}
