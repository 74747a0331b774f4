"""Rating scenarios with exact costs (docs/rating.md). Prices (conftest): default 0.10/min at 60/60,
"44" 0.20/min at 30/6 plus 0.05 a call, "447" 0.30/min at 1/1; 10 free minutes a month."""

from __future__ import annotations

import pytest

from tripleplay.customers.services import change_account_status, change_customer_status, create_account
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of
from tripleplay.rating.models import AllowanceUsage, Xdr
from tripleplay.rating.services import create_rate_table, ingest, rerate_errors, set_rate

from .conftest import PHONE, call


def use_up_allowance(actor):
    """Ten free minutes gone: a 600 s call on the default rate (fully free)."""
    [r] = ingest(actor, [call("free", seconds=600)])
    assert (r.status, r.cost_minor) == ("rated", 0)


@pytest.mark.parametrize("callee, seconds, cost", [
    ("15559999", 61, 20),  # default 60/60: 120 s x 0.10/min
    ("4420123456", 61, 27),  # "44" 30/6: 66 s x 0.20/min = 0.22 + 0.05 connection fee
    ("447700900123", 61, 31),  # "447" 1/1: 61 s x 0.30/min = 0.305 -> 0.31 (half-up, once)
    ("447700900123", 0, 0),  # zero-length: nothing, no fee
])
def test_longest_prefix_and_increments_exact(world, actor, callee, seconds, cost):
    use_up_allowance(actor)
    [r] = ingest(actor, [call("c1", callee=callee, seconds=seconds)])
    assert (r.status, r.cost_minor, r.currency) == ("rated", cost, "USD")
    xdr = Xdr.objects.get(pk=r.xdr_id)
    assert xdr.allowance_used == 0
    if cost:
        entry = xdr.ledger_entry
        assert (entry.amount_minor, entry.source, entry.service_type, entry.idempotency_key) == (
            -cost, "usage", "voice", f"xdr:{xdr.pk}")
    else:
        assert xdr.ledger_entry is None


def test_allowance_crossing_mid_call(world, actor):
    [a] = ingest(actor, [call("a", callee="447700900123", seconds=540)])  # 9 of 10 free minutes
    assert (a.cost_minor, Xdr.objects.get(pk=a.xdr_id).allowance_used) == (0, 540)
    # 100 s at 1/1: 60 s free, 40 s x 0.30/min = 0.20
    [b] = ingest(actor, [call("b", callee="447700900123", seconds=100)])
    xdr = Xdr.objects.get(pk=b.xdr_id)
    assert (b.cost_minor, xdr.billed_quantity, xdr.allowance_used) == (20, 100, 60)
    usage = AllowanceUsage.objects.get()
    assert (usage.used, usage.granted, usage.period_start.isoformat(), usage.period_end.isoformat()) == (
        600, 600, "2026-03-10", "2026-04-10")
    # Next period: a fresh allowance.
    [c] = ingest(actor, [call("c", seconds=61, at="2026-04-10T00:00:00Z")])
    assert (c.cost_minor, Xdr.objects.get(pk=c.xdr_id).allowance_used) == (0, 120)


def test_prepaid_debited_even_below_zero(world, actor):
    use_up_allowance(actor)
    results = ingest(actor, [call("p1", seconds=61), call("p2", callee="4420123456", seconds=61)])
    assert [r.cost_minor for r in results] == [20, 27]
    funds = funds_of(world.customer)
    assert funds.balance.minor == -47  # usage that happened is billed whatever the funds
    assert LedgerEntry.objects.filter(customer=world.customer, source="usage").count() == 2


def test_duplicates_rejected(world, actor):
    use_up_allowance(actor)
    first = ingest(actor, [call("d1"), call("d1")])
    assert [r.status for r in first] == ["rated", "duplicate"]
    assert [r.status for r in ingest(actor, [call("d1")])] == ["duplicate"]
    assert [r.status for r in ingest(actor, [call("d1")], source="switch-2")] == ["rated"]
    assert funds_of(world.customer).balance.minor == -40


def test_unratable_records_are_kept_and_rerated_after_a_fix(world, actor, make_customer, catalog):
    use_up_allowance(actor)
    results = ingest(actor, [
        call("u1", caller="15550002"),  # unknown phone number
        {"id": "u2", "service_type": "data", "login": "nobody", "bytes": 1, "started_at": "2026-03-10T12:00:00Z"},
        call("u3", seconds="abc", at="yesterday"),  # bad fields
        {"id": "u4", "service_type": "fax"},
        {"service_type": "voice"},  # no id: cannot be deduplicated, rejected
    ])
    assert [(r.status, r.error_code) for r in results] == [
        ("error", "unknown_account"), ("error", "unknown_account"), ("error", "invalid_field"),
        ("error", "invalid_field"), ("rejected", "invalid_field")]
    assert "duration_seconds" in results[2].error_reason and "started_at" in results[2].error_reason
    assert Xdr.objects.filter(status="error").count() == 4

    # Fix: the accounts exist now (the data one on the internet plan, whose table has 100 KB increments).
    other = make_customer("postpaid")
    create_account(actor, other, main_plan=world.voice_plan, phone_number="15550002")
    create_account(actor, other, main_plan=catalog.internet_plan, login="nobody")
    assert rerate_errors(actor) == {"rated": 2, "error": 2}
    u1 = Xdr.objects.get(external_id="u1")
    u2 = Xdr.objects.get(external_id="u2")
    assert (u1.status, u1.cost_minor, u1.allowance_used, u1.error_reason) == ("rated", 0, 120, "")
    assert (u2.status, u2.billed_quantity, u2.allowance_used, u2.cost_minor) == ("rated", 100, 100, 0)
    assert rerate_errors(actor) == {"rated": 0, "error": 2}


def test_no_rate_then_rate_added(world, actor, make_customer, catalog):
    customer = make_customer("prepaid")
    create_account(actor, customer, main_plan=catalog.tv_plan, phone_number="15550003")
    [r] = ingest(actor, [{"id": "m1", "service_type": "messaging", "caller": "15550003", "destination": "4477",
                          "count": 2, "started_at": "2026-03-10T12:00:00Z"}])
    assert (r.status, r.error_code) == ("error", "no_rate")
    # The voice account's messages are rated at 0.05 each.
    [ok] = ingest(actor, [{"id": "m2", "service_type": "messaging", "caller": PHONE, "destination": "4477",
                           "count": "3", "started_at": "2026-03-10T12:00:00Z"}])
    assert (ok.status, ok.cost_minor) == ("rated", 15)


def test_blocked_account_or_customer_refused(world, actor):
    use_up_allowance(actor)
    change_account_status(actor, world.account, "blocked", reason="fraud check")
    [r] = ingest(actor, [call("b1")])
    assert (r.status, r.error_code) == ("error", "account_blocked")
    change_account_status(actor, world.account, "active", reason="cleared")
    change_customer_status(actor, world.customer, "blocked", reason="fraud check")
    [r2] = ingest(actor, [call("b2")])
    assert (r2.status, r2.error_code) == ("error", "account_blocked")
    assert funds_of(world.customer).balance.minor == 0
    change_customer_status(actor, world.customer, "active", reason="cleared")
    assert rerate_errors(actor) == {"rated": 2, "error": 0}
    assert funds_of(world.customer).balance.minor == -40


def test_rate_table_validation(world, actor, catalog):
    from tripleplay.core.errors import Conflict, InvalidInput

    with pytest.raises(InvalidInput):
        create_rate_table(actor, catalog.tv, service_type="voice", name="TV has no voice")
    with pytest.raises(Conflict):
        create_rate_table(actor, world.voice_plan.product, service_type="voice", name="again")
    with pytest.raises(InvalidInput):
        set_rate(actor, world.voice_table, prefix="+44", price_per_unit_micros=1)
    with pytest.raises(InvalidInput):
        set_rate(actor, world.voice_table, prefix="1", price_per_unit_micros=1, first_increment=0)
