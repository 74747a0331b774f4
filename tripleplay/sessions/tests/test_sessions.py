"""Charging sessions through the services: exact amounts, idempotency, allowances, funds, the hook,
the sweeper. Amounts: 0.10 a minute in whole minutes (default rate), 0.01 a second plus 0.05 in
30/6 blocks ("44"), 0.01 a MB in 100 KB blocks (data)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tripleplay import clock
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.rating.models import AllowanceUsage, Xdr
from tripleplay.sessions import services
from tripleplay.sessions.hooks import SESSION_MUST_END
from tripleplay.sessions.models import ChargingSession

from .conftest import NAS, SWITCH, invariants

DEST = "15559999"  # the default rate
UK = "447700900123"  # the "44" rate


def usage_entries(account):
    return list(LedgerEntry.objects.filter(customer_id=account.customer_id, kind="charge")
                .order_by("id").values_list("amount_minor", flat=True))


def funds(account):
    return Funds.objects.get(customer_id=account.customer_id)


@pytest.fixture
def ended():
    """The SESSION_MUST_END calls, recorded by a handler registered for the test."""
    calls = []

    def handler(event):
        calls.append(event)

    SESSION_MUST_END.register(handler, order=999)
    yield calls
    SESSION_MUST_END.unregister(handler)


def test_voice_per_minute_start_update_stop(subscriber):
    account = subscriber(1000)
    a = services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                       destination=DEST)
    assert (a["result"], a["granted"], a["remaining"], a["final"]) == ("granted", 300, 300, False)
    assert funds(account).held_minor == 50  # 5 minutes reserved
    a = services.update(SWITCH, session_id="c1", used=61)
    assert (a["result"], a["used"], a["charged_minor"]) == ("granted", 61, 20)  # 2 minutes
    assert a["granted"] == 420  # 61 + 300, to the end of the minute it ends in
    a = services.stop(SWITCH, session_id="c1", used=125)
    assert (a["result"], a["charged_minor"]) == ("stopped", 30)
    assert usage_entries(account) == [-20, -10]
    f = funds(account)
    assert (f.balance_minor, f.held_minor) == (970, 0)
    assert not Hold.objects.filter(customer_id=account.customer_id, status="active").exists()
    xdrs = list(Xdr.objects.filter(source="session").order_by("id").values_list("billed_quantity", "cost_minor",
                                                                                  "duration_seconds"))
    assert xdrs == [(120, 20, 61), (60, 10, 64)]
    invariants(account.customer_id)


def test_voice_per_second_with_connection_fee_and_increments(subscriber):
    account = subscriber(1000)
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number, destination=UK,
                   requested=60)
    assert funds(account).held_minor == 65  # 0.05 + 60 s
    assert services.update(SWITCH, session_id="c1", used=31)["charged_minor"] == 41  # 0.05 + 36 s
    assert services.stop(SWITCH, session_id="c1", used=70)["charged_minor"] == 77  # 0.05 + 72 s
    assert usage_entries(account) == [-41, -36]
    assert funds(account).balance_minor == 923
    invariants(account.customer_id)


def test_data_volume_rounded_once_on_the_cumulative_usage(subscriber, world):
    account = subscriber(1000, plan=world.data_plan, login="alice")
    a = services.start(NAS, session_id="s1", service_type="data", subscriber="alice")
    assert (a["unit"], a["granted"]) == ("bytes", 50_000_000)
    assert services.update(NAS, session_id="s1", used=1_234_567)["charged_minor"] == 1  # 1,300 KB: 0.013
    a = services.stop(NAS, session_id="s1", used=2_500_000)  # 2,500 KB: 0.025 -> 0.03, once
    assert a["charged_minor"] == 3
    assert usage_entries(account) == [-1, -2]
    assert funds(account).balance_minor == 997
    invariants(account.customer_id)


def test_a_retried_sequence_is_charged_once(subscriber):
    account = subscriber(1000)
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number, destination=DEST)
    first = services.update(SWITCH, session_id="c1", used=61, sequence=1)
    again = services.update(SWITCH, session_id="c1", used=61, sequence=1)
    assert again == first and again.http_status == 200
    reused = services.update(SWITCH, session_id="c1", used=90, sequence=1)
    assert (reused.http_status, reused["code"]) == (409, "sequence_reused")
    services.update(SWITCH, session_id="c1", used=125, sequence=2)
    stale = services.update(SWITCH, session_id="c1", used=61, sequence=1)
    assert (stale.http_status, stale["code"], stale["charged_minor"]) == (200, "stale_sequence", 30)
    assert usage_entries(account) == [-20, -10]
    invariants(account.customer_id)


def test_a_retransmitted_cumulative_update_changes_nothing(subscriber):
    account = subscriber(1000)
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number, destination=DEST)
    services.update(SWITCH, session_id="c1", used=61)
    before = (list(LedgerEntry.objects.values_list("id", flat=True)), list(Hold.objects.values_list("id", "status")),
              Funds.objects.values_list("balance_minor", "held_minor").get(customer_id=account.customer_id),
              Xdr.objects.count())
    for _ in range(3):
        a = services.update(SWITCH, session_id="c1", used=61)
        assert (a["result"], a["charged_minor"], a["used"]) == ("updated", 20, 61)
    after = (list(LedgerEntry.objects.values_list("id", flat=True)), list(Hold.objects.values_list("id", "status")),
             Funds.objects.values_list("balance_minor", "held_minor").get(customer_id=account.customer_id),
             Xdr.objects.count())
    assert after == before


def test_allowances_are_used_before_money(subscriber, world):
    account = subscriber(1000, plan=world.voice_free_plan)
    a = services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                       destination=DEST)
    assert funds(account).held_minor == 30  # 300 s: 2 free minutes, 3 paid
    assert a["granted"] == 300
    assert services.update(SWITCH, session_id="c1", used=100)["charged_minor"] == 0  # 120 s billed, all free
    assert services.stop(SWITCH, session_id="c1", used=150)["charged_minor"] == 10  # 180 s: 120 free, 60 paid
    assert AllowanceUsage.objects.get().used == 120
    assert usage_entries(account) == [-10]
    assert list(Xdr.objects.order_by("id").values_list("allowance_used", "cost_minor")) == [(120, 0), (0, 10)]
    invariants(account.customer_id)


def test_free_minutes_alone_start_a_call_without_funds(subscriber, world):
    account = subscriber(0, plan=world.voice_free_plan)
    a = services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                       destination=DEST)
    assert (a["result"], a["granted"], a["final"]) == ("granted", 120, True)
    assert funds(account).held_minor == 0


def test_prepaid_exhaustion_refuses_the_next_quota_and_runs_the_hook(subscriber, ended):
    account = subscriber(100)  # 10 minutes' worth
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number, destination=DEST)
    a = services.update(SWITCH, session_id="c1", used=300)
    assert (a["result"], a["charged_minor"], a["remaining"]) == ("granted", 50, 300)
    assert ended == []
    a = services.update(SWITCH, session_id="c1", used=600)
    assert (a["result"], a["code"], a["charged_minor"], a["remaining"], a["final"]) == (
        "exhausted", "insufficient_funds", 100, 0, True)
    [event] = ended
    assert (event.client, event.session_id, event.reason, event.code) == (SWITCH, "c1", "quota_exhausted",
                                                                          "insufficient_funds")
    assert ChargingSession.objects.get().must_end == "quota_exhausted"
    services.update(SWITCH, session_id="c1", used=600)  # the hook ran once
    assert len(ended) == 1
    a = services.stop(SWITCH, session_id="c1", used=600)
    f = funds(account)
    assert (a["charged_minor"], f.balance_minor, f.held_minor) == (100, 0, 0)
    invariants(account.customer_id)


def test_a_partial_last_quota_is_granted_and_flagged_final(subscriber):
    account = subscriber(70)
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number, destination=DEST)
    a = services.update(SWITCH, session_id="c1", used=300)
    assert (a["result"], a["remaining"], a["final"]) == ("granted", 120, True)  # 0.20 left: 2 minutes


def test_postpaid_honours_the_credit_limit(subscriber, ended):
    account = subscriber(0, balance_model="postpaid", credit_limit_minor=100)
    a = services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                       destination=DEST, requested=3600)
    assert (a["granted"], a["final"]) == (600, True)  # 1.00 of credit: 10 minutes
    a = services.update(SWITCH, session_id="c1", used=600)
    assert (a["result"], a["charged_minor"]) == ("exhausted", 100)
    assert len(ended) == 1
    services.stop(SWITCH, session_id="c1", used=600)
    f = funds(account)
    assert (f.balance_minor, f.held_minor, f.available_minor) == (-100, 0, 0)
    invariants(account.customer_id)


def test_usage_beyond_the_grant_is_still_charged(subscriber):
    account = subscriber(100)
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                   destination=DEST, requested=60)
    a = services.stop(SWITCH, session_id="c1", used=1200)  # 20 minutes on a 1-minute grant
    assert a["charged_minor"] == 200
    assert funds(account).balance_minor == -100
    invariants(account.customer_id)


def test_a_suspended_customer_is_refused_more_and_the_hook_runs(subscriber, actor, ended):
    from tripleplay.customers.services import change_customer_status

    account = subscriber(1000)
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number, destination=DEST)
    change_customer_status(actor, account.customer, "suspended", reason="test")
    a = services.update(SWITCH, session_id="c1", used=61)
    assert (a["result"], a["code"], a["charged_minor"], a["remaining"]) == ("refused", "customer_suspended", 20, 0)
    [event] = ended
    assert (event.reason, event.code) == ("not_allowed", "customer_suspended")
    assert funds(account).held_minor == 0
    services.stop(SWITCH, session_id="c1", used=70)
    assert usage_entries(account) == [-20]


@pytest.mark.parametrize("case, code", [
    ("unknown", "unknown_subscriber"),
    ("suspended", "customer_suspended"),
    ("no_rate", "no_rate"),
    ("no_funds", "insufficient_funds"),
])
def test_refusals_at_start_store_nothing(subscriber, actor, world, case, code):
    from tripleplay.customers.services import change_customer_status

    account = subscriber(0 if case == "no_funds" else 1000, plan=world.data_plan if case == "no_rate" else None)
    if case == "suspended":
        change_customer_status(actor, account.customer, "suspended", reason="test")
    number = "15550000" if case == "unknown" else account.phone_number
    a = services.start(SWITCH, session_id="c1", service_type="voice", subscriber=number, destination=DEST)
    assert (a.http_status, a["result"], a["code"], a["granted"]) == (200, "refused", code, 0)
    assert not ChargingSession.objects.exists()
    assert not Hold.objects.exists()


def test_start_is_idempotent_by_client_and_session_id(subscriber):
    account = subscriber(1000)
    first = services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                           destination=DEST)
    assert services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                          destination=DEST) == first
    other = services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                           destination=UK)
    assert (other.http_status, other["code"]) == (409, "session_id_reused")
    # Another client's session id is another session.
    assert services.start("switch:other", session_id="c1", service_type="voice", subscriber=account.phone_number,
                          destination=DEST)["result"] == "granted"
    assert Hold.objects.filter(status="active").count() == 2


@pytest.mark.parametrize("case", ["voice", "voice_free", "data", "data_windowed"])
def test_a_started_sessions_row_is_the_object_the_start_built(subscriber, world, monkeypatch, settings, case):
    """The start's second write names only the columns changed since its INSERT (D299): every column
    of the stored row equals the session object as the start left it."""
    built = []
    store = services._store
    monkeypatch.setattr(services, "_store", lambda s, call, answer: (built.append(s), store(s, call, answer))[1])
    if case == "data_windowed":
        settings.TRIPLEPLAY_SESSION_FAST_WINDOW_SECONDS = 300  # a window where PostgreSQL's functions are on
    if case.startswith("data"):
        account = subscriber(1000, plan=world.data_plan, login="u1")
        a = services.start(NAS, session_id="n1", service_type="data", subscriber="u1",
                           windowed=case == "data_windowed", window_key="127.0.0.1 n1" if case == "data_windowed" else None)
    else:
        account = subscriber(1000, plan=world.voice_free_plan if case == "voice_free" else None)
        a = services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                           destination=DEST)
    assert a["result"] == "granted"
    [s] = built
    row = ChargingSession.objects.get(pk=s.pk)
    fields = [f.attname for f in ChargingSession._meta.concrete_fields]
    assert {f: getattr(row, f) for f in fields} == {f: getattr(s, f) for f in fields}
    assert row.hold_id is not None or case == "voice_free"
    if case == "data_windowed" and services.fast_windows_on():
        assert row.fast_until is not None  # the window's end and idle seconds went with the second write


def test_stop_of_an_unknown_or_ended_session_changes_nothing(subscriber):
    account = subscriber(1000)
    assert services.stop(SWITCH, session_id="nope", used=10).http_status == 404
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number, destination=DEST)
    first = services.stop(SWITCH, session_id="c1", used=61)
    entries = LedgerEntry.objects.count()
    assert services.stop(SWITCH, session_id="c1", used=500) == first
    late = services.update(SWITCH, session_id="c1", used=900)
    assert (late.http_status, late["code"]) == (409, "session_ended")
    assert LedgerEntry.objects.count() == entries
    assert services.update(SWITCH, session_id="nope", used=1).http_status == 404


def test_the_sweeper_ends_a_silent_session_with_the_exact_charge(subscriber):
    from tripleplay.sessions.jobs import sweep_sessions

    account = subscriber(1000)
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number, destination=DEST)
    services.update(SWITCH, session_id="c1", used=61)  # granted up to 420 s
    clock.freeze(clock.now() + timedelta(seconds=900 + 358))
    assert services.sweep_silent() == 0  # not yet: idle timeout + the 359 s still granted
    clock.freeze(clock.now() + timedelta(seconds=1))
    assert sweep_sessions() == "settled 0 closed fast windows, ended 1 silent charging sessions"
    s = ChargingSession.objects.get()
    assert (s.status, s.end_reason, s.charged_minor, s.hold) == ("ended", "timed_out", 20, None)
    f = funds(account)
    assert (f.balance_minor, f.held_minor) == (980, 0)
    assert usage_entries(account) == [-20]
    assert services.sweep_silent() == 0
    invariants(account.customer_id)


def test_session_charges_land_on_the_invoice_as_usage(subscriber):
    from tripleplay.invoicing.lines import EntryRow, build_lines

    account = subscriber(1000)
    for call, used in (("c1", (61, 125)), ("c2", (30,))):
        services.start(SWITCH, session_id=call, service_type="voice", subscriber=account.phone_number,
                       destination=DEST)
        for u in used[:-1]:
            services.update(SWITCH, session_id=call, used=u)
        services.stop(SWITCH, session_id=call, used=used[-1])
    rows = [EntryRow(e.id, e.kind, e.amount_minor, e.source, e.service_type, e.description, e.data)
            for e in LedgerEntry.objects.filter(customer_id=account.customer_id, kind="charge")]
    [line] = build_lines(rows, tax_rate=__import__("decimal").Decimal("0"), currency="USD", rounding="ROUND_HALF_UP")
    assert (line.section, line.description, line.amount_minor) == ("usage", "Voice usage: 2 calls", 40)
    # Each charge has its xDR, and the money was charged once: the xDRs' costs are the entries.
    assert sorted(Xdr.objects.values_list("cost_minor", flat=True)) == [10, 10, 20]
    assert Xdr.objects.filter(ledger_entry__isnull=True).count() == 0
