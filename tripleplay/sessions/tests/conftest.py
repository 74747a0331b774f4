"""Sessions test wiring. A voice product (per-minute default rate, a per-second "44" rate with a
connection fee and 30/6 increments), a voice plan with 2 free minutes, a data product priced per MB
in 100 KB increments, and helpers to fund a customer. The clock is frozen at ``T0`` (a Tuesday)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tripleplay import clock

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SWITCH = "switch:test"
NAS = "nas:test"


@dataclass
class World:
    voice_plan: object  # no allowance
    voice_free_plan: object  # 2 free minutes a month
    data_plan: object  # no allowance


@pytest.fixture
def world(db, actor) -> World:
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.rating.services import create_rate_table, set_rate

    clock.freeze(T0)
    voice = create_product(actor, code="voice", name="Voice", kind="main", currency="USD", services=["voice"])
    voice_plan = create_plan(actor, voice, code="voice-monthly", name="Voice monthly", periodic_fee_minor=0)
    voice_free_plan = create_plan(actor, voice, code="voice-free", name="Voice free minutes", periodic_fee_minor=0,
                                  allowances=[{"service_type": "voice", "unit": "minutes", "quantity": 2}])
    vt = create_rate_table(actor, voice, service_type="voice", name="Voice rates")
    # 0.10 a minute, whole minutes
    set_rate(actor, vt, prefix="", price_per_unit_micros=100_000, first_increment=60, next_increment=60)
    # 0.60 a minute = 0.01 a second, 0.05 to connect, 30 s then 6 s blocks
    set_rate(actor, vt, prefix="44", price_per_unit_micros=600_000, connection_fee_micros=50_000,
             first_increment=30, next_increment=6)
    data = create_product(actor, code="data", name="Data", kind="main", currency="USD", services=["data"])
    data_plan = create_plan(actor, data, code="data-monthly", name="Data monthly", periodic_fee_minor=0)
    dt = create_rate_table(actor, data, service_type="data", name="Data rates")
    # 0.01 a MB, in 100 KB blocks
    set_rate(actor, dt, prefix="", price_per_unit_micros=10_000, first_increment=100, next_increment=100)
    return World(voice_plan, voice_free_plan, data_plan)


@pytest.fixture
def subscriber(world, actor, make_customer):
    """``subscriber(balance_minor=1000, plan=world.voice_plan, balance_model="prepaid", credit_limit_minor=0,
    phone="15550001", login=None)``: a customer with that payment and one account."""
    from tripleplay.customers.services import create_account
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    numbers = iter(range(1, 10_000))

    def make(balance_minor: int = 1000, plan=None, balance_model: str = "prepaid", credit_limit_minor: int = 0,
             phone: str | None = None, login: str | None = None):
        customer = make_customer(balance_model, credit_limit_minor=credit_limit_minor)
        if balance_minor:
            record_payment(actor, customer, Money(balance_minor, "USD"), idempotency_key=f"pay-{customer.pk}")
        n = next(numbers)
        account = create_account(actor, customer, main_plan=plan or world.voice_plan,
                                  phone_number=phone or f"1555{n:04d}", login=login)
        return account

    return make


def invariants(customer_id: int) -> None:
    """Balance == sum of entries, held == sum of active holds >= 0."""
    from tripleplay.ledger.models import Funds
    from tripleplay.ledger.selectors import sum_of_active_holds, sum_of_entries

    funds = Funds.objects.get(customer_id=customer_id)
    assert funds.balance_minor == sum_of_entries(customer_id)
    assert funds.held_minor == sum_of_active_holds(customer_id) >= 0
