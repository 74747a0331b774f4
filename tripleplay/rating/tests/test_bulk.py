"""The bulk path (the bulk package) gives exactly the per-record path's results: the same generated records are
rated both ways (the per-record run rolled back) and every xDR, balance and allowance row compared."""

from __future__ import annotations

import random
from datetime import time

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import given, settings
from hypothesis import strategies as st

from tripleplay.audit.models import AuditEvent
from tripleplay.catalog.services import create_plan, create_product
from tripleplay.customers.models import Account
from tripleplay.customers.services import change_account_status, change_customer_status, create_account
from tripleplay.ledger.models import Funds, LedgerEntry
from tripleplay.ledger.selectors import funds_of
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.rating import bulk
from tripleplay.rating.bulk import chunk as bulk_chunk
from tripleplay.rating.bulk import pipeline as bulk_pipeline
from tripleplay.rating.bulk import rate_bulk
from tripleplay.rating.models import AllowanceUsage, Xdr
from tripleplay.rating.services import (
    _jsonable,
    _parse,
    _parse_fields,
    _parse_valid,
    create_rate_table,
    ingest,
    set_peak_window,
    set_rate,
)

from .conftest import PHONE, call

OTHER, ADDON, BLOCKED, CLOSED = "15550010", "15550011", "15550012", "15550013"


@pytest.fixture
def mixed(world, actor, make_customer, catalog):
    """Four more accounts: postpaid, prepaid with a messaging add-on (5 free messages), a blocked one, a
    closed one; a mobile-data plan with 1 MB free; off-peak prices on the "44" and SMS rates."""
    set_peak_window(actor, world.voice_table, start=time(8), end=time(20), weekdays="12345")
    set_rate(actor, world.voice_table, prefix="44", price_per_unit_micros=200_000, connection_fee_micros=50_000,
             first_increment=30, next_increment=6, offpeak_price_per_unit_micros=70_000,
             offpeak_connection_fee_micros=0)
    # first/next interval prices (issue 13): the first minute at 0.30, every next 6 s at 0.10 a minute,
    # off-peak every next 6 s at 0.04 a minute
    set_rate(actor, world.voice_table, prefix="4478", price_per_unit_micros=300_000, first_increment=60,
             next_increment=6, next_price_per_unit_micros=100_000, offpeak_next_price_per_unit_micros=40_000)
    sms = create_product(actor, code="sms-pack", name="SMS pack", kind="addon", currency="USD", services=["messaging"])
    sms_plan = create_plan(actor, sms, code="sms-pack-m", name="SMS pack", periodic_fee_minor=0,
                           allowances=[{"service_type": "messaging", "unit": "messages", "quantity": 5}])
    mobile = create_product(actor, code="mobile-data", name="Mobile data", kind="main", currency="USD",
                            services=["data"])
    mobile_plan = create_plan(actor, mobile, code="mobile-data-m", name="Mobile data", periodic_fee_minor=0,
                              allowances=[{"service_type": "data", "unit": "megabytes", "quantity": 1}])
    dt = create_rate_table(actor, mobile, service_type="data", name="Mobile data rates")
    set_rate(actor, dt, prefix="", price_per_unit_micros=12_345, first_increment=10, next_increment=10,
             next_price_per_unit_micros=6_789)
    postpaid = make_customer("postpaid", credit_limit_minor=10_000)
    create_account(actor, postpaid, main_plan=world.voice_plan, phone_number=OTHER)
    create_account(actor, postpaid, main_plan=mobile_plan, login="phone-data")
    prepaid = make_customer("prepaid")
    record_payment(actor, prepaid, Money(150, "USD"), idempotency_key="topup-1")
    create_account(actor, prepaid, main_plan=world.voice_plan, addon_plans=[sms_plan], phone_number=ADDON)
    blocked = make_customer("prepaid")
    acc = create_account(actor, blocked, main_plan=world.voice_plan, phone_number=BLOCKED)
    change_account_status(actor, acc, "blocked", reason="fraud")
    closed = make_customer("prepaid")
    create_account(actor, closed, main_plan=world.voice_plan, phone_number=CLOSED)
    change_customer_status(actor, closed, "closed", reason="left")
    return world


def generate(n: int, seed: int = 7) -> list[dict]:
    """Mixed records: voice to several prefixes at peak and off-peak times (a weekend too) across the
    March/April period boundary, messages, data sessions, and some broken, unknown or duplicate ones."""
    rng = random.Random(seed)
    times = ["2026-03-10T12:00:00Z", "2026-03-10T19:59:59Z", "2026-03-10T20:00:00Z", "2026-03-14T10:00:00Z",
             "2026-04-09T23:00:00Z", "2026-04-10T07:00:00+00:00", "2026-03-09T12:00:00Z"]
    callers = [PHONE, PHONE, OTHER, ADDON, BLOCKED, CLOSED, "15559876"]
    out = []
    for i in range(n):
        kind = rng.random()
        at = rng.choice(times)
        if kind < 0.55:
            rec = call(f"r{i}", callee=rng.choice(["15559999", "4420123456", "447700900123", "4478123"]),
                       seconds=rng.choice([0, 1, 29, 61, 125, 300, 601]), caller=rng.choice(callers), at=at)
        elif kind < 0.75:
            rec = {"id": f"r{i}", "service_type": "messaging", "caller": rng.choice(callers), "destination": "4477001",
                   "count": str(rng.choice([1, 2, 3])), "started_at": at}
        elif kind < 0.92:
            rec = {"id": f"r{i}", "service_type": "data", "login": rng.choice(["phone-data", "phone-data", "nobody"]),
                   "bytes": rng.choice([0, 1, 999, 1001, 123_456, 2_000_000]), "started_at": at}
        elif kind < 0.96:
            rec = call(f"r{i}", seconds="-5", at="not a time")
        else:
            rec = call(f"r{rng.randrange(max(i, 1))}")  # a copy of an earlier id (or of itself)
        out.append(rec)
    return out


def state() -> dict:
    xdrs = {x.external_id: (x.status, x.error_code, x.error_reason, x.service_type, x.account_id, x.rate_id,
                            x.billed_quantity, x.allowance_used, x.offpeak, x.cost_minor, x.currency, x.started_at,
                            x.duration_seconds, x.bytes, x.count, x.caller, x.callee, x.login, x.destination)
            for x in Xdr.objects.all()}
    balances = dict(Funds.objects.values_list("customer_id", "balance_minor"))
    usage = sorted(AllowanceUsage.objects.values_list("assignment_id", "allowance_id", "period_index",
                                                      "period_start", "period_end", "granted", "used"))
    return {"xdrs": xdrs, "balances": balances, "usage": usage}


def answers(results) -> list[tuple]:
    return [(r.external_id, r.status, r.cost_minor, r.currency, r.error_code, r.error_reason) for r in results]


class Rollback(Exception):
    pass


def assert_ledger_consistent():
    for funds in Funds.objects.all():
        total = LedgerEntry.objects.filter(customer_id=funds.customer_id).aggregate(t=Sum("amount_minor"))["t"] or 0
        assert funds.balance_minor == total
    rated = Xdr.objects.aggregate(t=Sum("cost_minor"))["t"] or 0
    usage = LedgerEntry.objects.filter(source="usage").aggregate(t=Sum("amount_minor"))["t"] or 0
    assert rated == -usage


@pytest.mark.parametrize("chunk_size", [1, 13, 10_000])
def test_bulk_path_equals_per_record_path(mixed, actor, chunk_size):
    records = generate(400)
    try:
        with transaction.atomic():
            single = answers(ingest(actor, records, source="sw"))
            expected = state()
            raise Rollback
    except Rollback:
        pass
    assert Xdr.objects.count() == 0
    result = rate_bulk(actor, records, source="sw", chunk_size=chunk_size, collect=True)
    assert answers(result.results) == single
    got = state()
    assert got == expected
    # The run is not trivial: every outcome occurs.
    statuses = {a[1] for a in single}
    codes = {v[1] for v in got["xdrs"].values()}
    assert statuses == {"rated", "error", "duplicate"}
    assert {"invalid_field", "unknown_account", "account_blocked", "account_closed", "no_subscription"} <= codes
    assert any(v[8] for v in got["xdrs"].values()) and any(v[7] for v in got["xdrs"].values())
    assert result.counts == {s: sum(1 for a in single if a[1] == s) for s in ("rated", "error", "duplicate",
                                                                            "rejected")}
    assert_ledger_consistent()


def test_one_entry_per_customer_and_chunk_with_counts_per_service(mixed, actor):
    records = [call("v1", seconds=601), call("v2", seconds=61), call("v3", callee="4420123456", seconds=61),
               {"id": "m1", "service_type": "messaging", "caller": PHONE, "destination": "4477", "count": 2,
                "started_at": "2026-03-10T12:00:00Z"},
               call("o1", caller=OTHER, seconds=700)]
    result = rate_bulk(actor, records, source="sw", chunk_size=3)
    assert result.counts == {"rated": 5, "error": 0, "duplicate": 0, "rejected": 0}
    # chunk 1 (v1 v2 v3): 601 s -> 660 s billed, 600 free, 60 s x 0.10 = 0.10; v2 120 s = 0.20;
    # v3 "44" peak 66 s x 0.20 + 0.05 = 0.27. chunk 2: m1 2 x 0.05 = 0.10 (world customer); o1 (postpaid)
    # 700 s -> 720 s, 600 free, 120 s = 0.20.
    entries = list(LedgerEntry.objects.filter(source="usage").order_by("id"))
    assert [(e.customer_id, e.amount_minor, e.service_type) for e in entries] == [
        (mixed.customer.pk, -57, "voice"), (mixed.customer.pk, -10, "messaging"),
        (Xdr.objects.get(external_id="o1").account.customer_id, -20, "voice")]
    first = entries[0]
    v1 = Xdr.objects.get(external_id="v1")
    assert first.data == {"source": "sw", "xdrs": 3, "first_xdr": v1.pk, "last_xdr": v1.pk + 2,
                          "services": {"voice": {"count": 3, "cost_minor": 57}}}
    assert (first.idempotency_key, first.balance_after_minor, first.account_id) == (
        f"xdrs:{v1.pk}:{mixed.customer.pk}", -57, mixed.account.pk)
    assert entries[1].balance_after_minor == -67
    assert set(Xdr.objects.filter(external_id__in=["v1", "v2", "v3"]).values_list("ledger_entry", flat=True)) == {
        first.pk}
    assert AuditEvent.objects.filter(action="ledger.charge", object_id__in=[str(e.pk) for e in entries]).count() == 3
    assert AuditEvent.objects.get(action="ledger.charge", object_id=str(first.pk)).data == {
        "customer": mixed.customer.pk, "amount_minor": -57, "currency": "USD", "balance_after_minor": -57, "xdrs": 3}
    assert_ledger_consistent()


def test_reimport_is_all_duplicates_and_charges_nothing(mixed, actor):
    records = generate(120, seed=3)
    first = rate_bulk(actor, records, source="sw", chunk_size=50, collect=True)
    balances = dict(Funds.objects.values_list("customer_id", "balance_minor"))
    again = rate_bulk(actor, records, source="sw", chunk_size=50, collect=True)
    assert again.counts == {"rated": 0, "error": 0, "duplicate": len(records), "rejected": 0}
    assert dict(Funds.objects.values_list("customer_id", "balance_minor")) == balances
    stored = {r.external_id: r.xdr_id for r in first.results if r.status in ("rated", "error")}
    assert all(r.xdr_id == stored[r.external_id] for r in again.results)


def test_prepaid_without_funds_goes_below_zero_like_the_per_record_path(mixed, actor):
    """Usage that happened is billed whatever the funds (docs/rating.md, D41): the add-on customer has
    1.50 and uses 2.01 in one chunk; every record is rated and the balance ends at -0.51."""
    customer = Account.objects.get(phone_number=ADDON).customer
    records = [call("f0", caller=ADDON, seconds=600)]  # the free minutes
    records += [call(f"f{i}", caller=ADDON, callee="447700900123", seconds=67) for i in range(1, 7)]
    # 67 s at 0.30/min, 1/1 = 0.335 -> 0.34 each (half-up, once per xDR) x 6 = 2.04 ... minus nothing free
    result = rate_bulk(actor, records, source="sw")
    assert result.counts["rated"] == 7
    assert funds_of(customer).balance.minor == 150 - 6 * 34
    assert_ledger_consistent()


def test_bad_arguments_change_nothing(mixed, actor):
    from tripleplay.core.errors import InvalidInput

    for kwargs in ({"source": ""}, {"service_type": "fax"}, {"chunk_size": 0}):
        with pytest.raises(InvalidInput):
            rate_bulk(actor, [call("x1")], **{"source": "sw", **kwargs})
    assert Xdr.objects.count() == 0


def test_rejected_records_are_not_stored(mixed, actor):
    result = rate_bulk(actor, ["nope", {"service_type": "voice"}, call("ok")], source="sw", collect=True)
    assert [(r.status, r.error_code) for r in result.results] == [
        ("rejected", "invalid_record"), ("rejected", "invalid_field"), ("rated", "")]
    assert Xdr.objects.count() == 1



@settings(max_examples=300, deadline=None)
@given(service=st.sampled_from(["voice", "data", "messaging", "fax", None]),
       at=st.one_of(st.sampled_from(["2026-03-10T12:00:00Z", "2026-03-10T12:00:00+02:00", " 2026-03-10T12:00:00Z",
                                     "2026-03-10T12:00:00", "2026-03-10", "x"]), st.text(max_size=30)),
       number=st.one_of(st.sampled_from(["15550001", "+15550001", " 15550001", "12", "1" * 16, "١٢٣٤", ""]),
                        st.text(max_size=20), st.integers(-5, 10**12), st.none()),
       quantity=st.one_of(st.integers(-3, 10**9), st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63]),
                          st.sampled_from(["61", " 61", "-1", "²", "", "0", "1.5", str(2**31)]),
                          st.booleans(), st.none(), st.floats(allow_nan=False)),
       login=st.one_of(st.sampled_from(["phone-data", " phone-data", "", "x" * 120]), st.text(max_size=10),
                       st.integers(), st.none()))
def test_fast_parse_equals_field_by_field_parse(service, at, number, quantity, login):
    raw = {"id": "x", "service_type": service, "started_at": at, "caller": number, "callee": number,
           "destination": number, "duration_seconds": quantity, "bytes": quantity, "count": quantity, "login": login}
    fast = _parse_valid(raw)
    slow, problem = _parse_fields(raw)
    if fast is not None:
        assert (fast, problem) == (slow, None)
    fields, why = _parse(raw)
    assert (fields, why and (why.code, why.reason)) == (slow, problem and (problem.code, problem.reason))


# -- the pipelined bulk path (PostgreSQL): chunk n+1 is rated before chunk n commits, as if it had. When
# that assumption fails, the chunk rolls back whole, runs again the serial way, and the next chunk is
# rated again: the results are still exactly the per-record path's.


@pytest.fixture
def serial_runs(monkeypatch):
    """The chunks that ran (again) the serial way."""
    runs = []
    original = bulk_chunk._run_chunk

    def spy(actor, source, service_type, chunk, collect):
        runs.append([r.get("id") for r in chunk])
        return original(actor, source, service_type, chunk, collect)

    # Both callers: rate_bulk (the package: one chunk, or SQLite) and the pipeline (a failed chunk again).
    monkeypatch.setattr(bulk, "_run_chunk", spy)
    monkeypatch.setattr(bulk_pipeline, "_run_chunk", spy)
    return runs


def expected_after(actor, before, records):
    """Answers and state of the per-record path after ``before()`` (rolled back)."""
    try:
        with transaction.atomic():
            before()
            single = answers(ingest(actor, records, source="sw"))
            expected = state()
            raise Rollback
    except Rollback:
        pass
    return single, expected


@pytest.mark.postgres
def test_allowance_used_by_another_writer_meanwhile_reruns_the_chunk(mixed, actor, monkeypatch, serial_runs):
    """Another writer takes free minutes after chunk 1 was rated and before it is written: chunk 1's
    check finds the allowance row changed, it runs again the serial way, and chunk 2 (rated on chunk 1's
    assumptions) is rated again."""
    records = [call(f"v{i}", seconds=125) for i in range(30)]  # 10 free minutes, then 3 x 0.10 each
    other = [call("o1", seconds=300)]  # 5 of the free minutes

    single, expected = expected_after(actor, lambda: ingest(actor, other, source="sw"), records)
    fetches = []
    original = bulk_pipeline._Pipeline._fetch

    def fetch_then_interfere(self, chunk, pending=None):
        original(self, chunk, pending)
        fetches.append(chunk)
        if len(fetches) == 2:  # chunk 1 rated, chunk 2 fetched: chunk 1 is written next
            ingest(actor, other, source="sw")

    monkeypatch.setattr(bulk_pipeline._Pipeline, "_fetch", fetch_then_interfere)
    result = rate_bulk(actor, records, source="sw", chunk_size=10, collect=True)
    assert serial_runs == [[f"v{i}" for i in range(10)]]
    assert len(fetches) == 4  # chunk 2 fetched twice
    assert answers(result.results) == single
    assert state() == expected
    assert_ledger_consistent()


@pytest.mark.postgres
def test_a_record_stored_before_is_found_by_the_unique_index(mixed, actor, serial_runs):
    """After a first chunk without stored duplicates the query stops; a later chunk holding records
    stored by an earlier import fails on the unique index, runs again the serial way (which finds them
    duplicate) and the query comes back."""
    old = generate(60, seed=11)
    new = [call(f"n{i}", seconds=61) for i in range(40)] + old[20:40] + [call(f"m{i}", seconds=61)
                                                                        for i in range(40)]
    single, expected = expected_after(actor, lambda: ingest(actor, old, source="sw"), new)
    rate_bulk(actor, old, source="sw")
    serial_runs.clear()
    result = rate_bulk(actor, new, source="sw", chunk_size=40, collect=True)
    assert serial_runs == [[r["id"] for r in new[40:80]]]
    assert answers(result.results) == single
    assert state() == expected
    assert result.counts["duplicate"] == sum(1 for a in single if a[1] == "duplicate") > 0
    assert_ledger_consistent()


@pytest.mark.postgres
def test_pipelined_chunks_equal_the_per_record_path_with_copies_across_chunks(mixed, actor, serial_runs):
    """Copies of records of the chunk still being written are duplicates from memory, with its ids."""
    records = generate(300, seed=5)
    records += [dict(r) for r in records[::7]]  # copies of earlier chunks' records
    single, expected = expected_after(actor, lambda: None, records)
    result = rate_bulk(actor, records, source="sw", chunk_size=25, collect=True)
    assert serial_runs == []
    assert answers(result.results) == single
    assert state() == expected
    stored = dict(Xdr.objects.values_list("external_id", "id"))
    assert all(r.xdr_id == stored[r.external_id] for r in result.results if r.status != "rejected")
    # The record as received is kept for errors only (D43), as the driver would have encoded it.
    first = {}
    for r in records:
        first.setdefault(r["id"], r)
    raws = {x.external_id: (x.status, x.raw) for x in Xdr.objects.all()}
    errors = {ext: raw for ext, (status, raw) in raws.items() if status == "error"}
    assert errors and errors == {ext: _jsonable(first[ext]) for ext in errors}
    assert all(raw == {} for status, raw in raws.values() if status == "rated")
    assert_ledger_consistent()


@pytest.mark.postgres
def test_a_rate_changed_between_chunks_prices_the_chunks_fetched_after_it(mixed, actor, monkeypatch, serial_runs):
    """The pipeline keeps rating contexts from chunk to chunk only while the tables, allowances and
    subscriptions they came from are unchanged: a rate set after chunk 2 was fetched prices chunk 3."""
    records = [call(f"p{i}", seconds=61) for i in range(30)]  # 10 free minutes, then 120 s at the "" rate

    def change():
        set_rate(actor, mixed.voice_table, prefix="", price_per_unit_micros=300_000, first_increment=60,
                 next_increment=60)

    def per_record():
        ingest(actor, records[:20], source="sw")
        change()

    single, expected = expected_after(actor, per_record, records[20:])
    fetches = []
    original = bulk_pipeline._Pipeline._fetch

    def fetch_then_change(self, chunk, pending=None):
        original(self, chunk, pending)
        fetches.append(chunk)
        if len(fetches) == 2:
            change()

    monkeypatch.setattr(bulk_pipeline._Pipeline, "_fetch", fetch_then_change)
    result = rate_bulk(actor, records, source="sw", chunk_size=10, collect=True)
    assert serial_runs == []
    assert answers(result.results)[20:] == single
    assert state() == expected
    costs = [c for _, status, c, *_ in answers(result.results)]
    assert costs[:5] == [0] * 5 and costs[5:20] == [20] * 15 and costs[20:] == [60] * 10
    assert_ledger_consistent()


@pytest.mark.postgres
@pytest.mark.parametrize("n, seed, progress", [
    # The second thread overlaps nothing until the first chunk is rated: that one holds at most
    # FIRST_CHUNK records, the others chunk_size (a last one as short as FIRST_CHUNK is not split).
    (50, 9, [5, 25, 45, 50]),
    # A last chunk shorter than chunk_size (so known to be the last) is split: its end, FIRST_CHUNK
    # records, is written alone, since nothing overlaps the last write.
    (52, 10, [5, 25, 45, 47, 52]),
], ids=["first chunk small", "last chunk ends small"])
def test_the_pipelines_first_and_last_chunks_are_small(mixed, actor, monkeypatch, n, seed, progress):
    """The pipeline's small first and last chunks; the results do not depend on them."""
    monkeypatch.setattr(bulk, "FIRST_CHUNK", 5)
    records = generate(n, seed=seed)
    single, expected = expected_after(actor, lambda: None, records)
    done = []
    result = rate_bulk(actor, records, source="sw", chunk_size=20, collect=True,
                       progress=lambda out: done.append(out.rows))
    assert done == progress
    assert answers(result.results) == single
    assert state() == expected
    assert_ledger_consistent()


@pytest.mark.postgres
def test_past_the_memory_limit_the_ids_of_committed_chunks_are_queried(mixed, actor, monkeypatch, serial_runs):
    """Memory stays bounded: past KNOWN_LIMIT ids the pipeline forgets those of committed chunks and
    finds their copies with the stored-duplicates query (no chunk has to run again)."""
    monkeypatch.setattr(bulk_pipeline, "KNOWN_LIMIT", 30)
    records = generate(200, seed=13)
    records += [dict(r) for r in records[:150:3]]  # copies of records of chunks long committed
    single, expected = expected_after(actor, lambda: None, records)
    queried = []
    original = bulk_chunk._Chunk.fetch

    def fetch(self, known, check_stored):
        queried.append((len(known), check_stored))
        return original(self, known, check_stored)

    monkeypatch.setattr(bulk_chunk._Chunk, "fetch", fetch)
    result = rate_bulk(actor, records, source="sw", chunk_size=20, collect=True)
    assert serial_runs == []
    assert all(n <= 30 + 20 for n, _ in queried) and queried[-1][1] is True
    assert answers(result.results) == single
    assert state() == expected
    assert_ledger_consistent()
