"""PostgreSQL: a RADIUS charging session's fast window (D280). Interim-Updates inside the usage the
session's hold covers are charged by radius_sql_interim (one statement, no ledger row) and posted later
(the next Python report, the Stop, the sweeper, the settle job before a bill date); the money ends the
same, to the minor unit, as through the Python path alone (TRIPLEPLAY_SESSION_DB_FUNCTIONS=0)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tripleplay import clock
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.ledger.selectors import sum_of_active_holds, sum_of_entries
from tripleplay.radius import services
from tripleplay.radius.models import NetworkSession
from tripleplay.radius.selectors import with_window_reports
from tripleplay.radius.tests.conftest import VOLUME_T0, volume_subscriber
from tripleplay.rating.models import Xdr
from tripleplay.sessions import services as core
from tripleplay.sessions.jobs import sweep_sessions
from tripleplay.sessions.models import ChargingSession, ChargingWindow
from tripleplay.sessions.selectors import with_windows

pytestmark = pytest.mark.postgres

T0 = VOLUME_T0
SID = "0000f00d"


@pytest.fixture
def plan(volume_plan):
    return volume_plan


subscriber = volume_subscriber


def acct(nas, login, status, kb=0, seconds=0, sid=SID):
    attrs = {"Acct-Status-Type": [status], "Acct-Session-Id": [sid], "User-Name": [login],
             "Acct-Input-Octets": [str(kb * 600)], "Acct-Output-Octets": [str(kb * 400)],
             "Acct-Session-Time": [str(seconds)]}
    return services.record_accounting(nas, attrs)


def now_session(customer) -> ChargingSession:
    """The customer's charging session as it is now: its fast window's charges laid over (D296)."""
    return with_windows([ChargingSession.objects.get(customer=customer)])[0]


def window(customer) -> ChargingWindow:
    return ChargingWindow.objects.get(session__customer=customer)


def state(customer) -> dict:
    s = now_session(customer)
    f = Funds.objects.get(customer=customer)
    assert f.balance_minor == sum_of_entries(customer.pk)  # balance = entries, always
    assert f.held_minor == sum_of_active_holds(customer.pk)
    if s.hold_id is not None:  # what waits to be posted is held
        assert s.charged_minor - s.posted_minor <= Hold.objects.get(pk=s.hold_id).amount_minor
    else:
        assert s.charged_minor == s.posted_minor
    return {"charged": s.charged_minor, "posted": s.posted_minor, "balance": f.balance_minor, "held": f.held_minor,
            "entries": -sum(e.amount_minor for e in LedgerEntry.objects.filter(customer=customer, kind="charge")),
            "xdrs": sum(x.cost_minor for x in Xdr.objects.filter(account__customer=customer)),
            "xdr_kb": sum(x.billed_quantity for x in Xdr.objects.filter(account__customer=customer)),
            "active_holds": Hold.objects.filter(customer=customer, status="active").count()}


def handled_in_sql(queries) -> int:
    return sum(q["sql"].startswith("SELECT radius_sql_interim") for q in queries.captured_queries)


SCENARIO = [  # (minute, status, KB so far)
    (0, "Start", 0),
    (1, "Interim-Update", 100),  # 0.01: inside the window
    (2, "Interim-Update", 100),  # a retransmission: nothing
    (3, "Interim-Update", 20_000),  # 2.00: inside (the window covers 256 blocks, 25.5 MB)
    (4, "Interim-Update", 45_000),  # beyond the window: Python posts 4.50 and reserves the 0.50 left (5 MB)
    (5, "Interim-Update", 45_100),  # 0.01 inside the new, smaller window
    (6, "Interim-Update", 70_000),  # beyond the funds: charged whatever they are, exhausted
    (7, "Stop", 70_050),
]


def test_the_fast_window_and_the_python_path_end_with_the_same_money(plan, actor, settings):
    results = {}
    for n, fast in ((1, True), (2, False)):
        settings.TRIPLEPLAY_SESSION_DB_FUNCTIONS = fast
        clock.freeze(T0)
        customer, account, nas = subscriber(actor, plan, n, 500)
        during = []
        for minute, status, kb in SCENARIO:
            clock.freeze(T0 + timedelta(minutes=minute))
            acct(nas, account.login, status, kb, minute * 60)
            during.append(state(customer))
        results[fast] = (during, state(customer))
    fast, python = results[True], results[False]
    # The charged total after every report is the same; only when it is posted differs.
    assert [d["charged"] for d in fast[0]] == [d["charged"] for d in python[0]] == [
        0, 1, 1, 200, 450, 451, 700, 701]
    assert [d["posted"] for d in fast[0]] == [0, 0, 0, 0, 450, 450, 700, 701]
    assert [d["posted"] for d in python[0]] == [0, 1, 1, 200, 450, 451, 700, 701]
    # Funds: 5.00 paid, 7.01 charged (usage is billed whatever the funds), everything released.
    assert fast[1] == python[1] == {"charged": 701, "posted": 701, "balance": -201, "held": 0, "entries": 701,
                                    "xdrs": 701, "xdr_kb": 70_100, "active_holds": 0}
    assert Xdr.objects.filter(account__customer__name="sub 1").count() == 3  # the window's charges in fewer xDRs
    assert Xdr.objects.filter(account__customer__name="sub 2").count() == 6


def test_an_interim_inside_the_window_writes_no_ledger_row_and_one_outside_settles_it(plan, actor):
    customer, account, nas = subscriber(actor, plan, 3, 500)
    acct(nas, account.login, "Start")
    s = now_session(customer)
    # The window: from no usage to one byte short of the grant (50 MB) or 256 blocks, the first.
    assert (s.windowed, s.fast_until, s.fast_idle_seconds) == (True, T0 + timedelta(minutes=15), 900)
    # Flattened (limit, billed, charged) per step, found by the key (D295).
    w = window(customer)
    assert w.steps[:9] == [0, 0, 0, 100_000, 100, 1, 200_000, 200, 2] and len(w.steps) == 3 * 256
    assert (w.key, w.hold_id, w.until) == (f"{nas.address} {SID}", s.hold_id, s.fast_until)
    entries = LedgerEntry.objects.count()
    with CaptureQueriesContext(connection) as queries:
        assert acct(nas, account.login, "Interim-Update", 250, 60) == (
            f"Interim-Update: charging session {s.pk} updated (fast window)")
    assert handled_in_sql(queries) == 1 and len(queries.captured_queries) == 1  # one statement, nothing else
    assert LedgerEntry.objects.count() == entries
    # One row written: the charging session carries the NAS's counters until the Python path folds them.
    ns = NetworkSession.objects.get()
    assert (ns.input_octets, ns.output_octets, ns.session_time_seconds, ns.interim_updates) == (0, 0, 0, 0)
    w = window(customer)
    assert (w.reported_input, w.reported_output, w.reported_seconds, w.reports) == (150_000, 100_000, 60, 1)
    # ... and the charge on the window row alone: the charging session row was not written (D296).
    assert ChargingSession.objects.get(customer=customer).charged_minor == 0 and w.charged_minor == 3
    assert state(customer) | {"held": None} == {"charged": 3, "posted": 0, "balance": 500, "held": None, "entries": 0,
                                                "xdrs": 0, "xdr_kb": 0, "active_holds": 1}
    # A retransmission: one statement, nothing changes.
    with CaptureQueriesContext(connection) as queries:
        assert acct(nas, account.login, "Interim-Update", 250, 60).endswith("unchanged (fast window)")
    assert len(queries.captured_queries) == 1 and window(customer).reports == 1
    # 26 MB: beyond the window's 25.5 MB: Python posts the window's 0.03 and this report's 2.57 at once.
    acct(nas, account.login, "Interim-Update", 26_000, 120)
    assert state(customer) | {"held": None} == {"charged": 260, "posted": 260, "balance": 240, "held": None,
                                                "entries": 260, "xdrs": 260, "xdr_kb": 26_000, "active_holds": 1}
    s = now_session(customer)
    assert window(customer).steps[:3] == [26_000_000, 26_000, 260] and s.fast_until is not None  # a new window
    # ... and the NAS session row took the window's report and this one.
    ns = NetworkSession.objects.get()
    assert (ns.input_octets, ns.output_octets, ns.session_time_seconds, ns.interim_updates) == (
        15_600_000, 10_400_000, 120, 2)
    w = window(customer)
    assert (w.reported_input, w.reported_output, w.reports) == (15_600_000, 10_400_000, 0)


def test_a_closed_window_is_the_python_paths_and_the_settle_job_posts_it(plan, actor):
    customer, account, nas = subscriber(actor, plan, 4, 500)
    acct(nas, account.login, "Start")
    clock.freeze(T0 + timedelta(minutes=5))
    acct(nas, account.login, "Interim-Update", 100, 300)
    assert state(customer)["posted"] == 0
    clock.freeze(T0 + timedelta(minutes=15))  # fast_until
    with CaptureQueriesContext(connection) as queries:
        acct(nas, account.login, "Interim-Update", 200, 900)
    assert len(queries.captured_queries) > 1  # the function said no; Python posted and opened a new window
    assert state(customer) | {"held": None} == {"charged": 2, "posted": 2, "balance": 498, "held": None,
                                                "entries": 2, "xdrs": 2, "xdr_kb": 200, "active_holds": 1}
    assert now_session(customer).fast_until == T0 + timedelta(minutes=30)
    clock.freeze(T0 + timedelta(minutes=20))
    acct(nas, account.login, "Interim-Update", 300, 1200)  # fast again
    assert state(customer)["posted"] == 2
    clock.freeze(T0 + timedelta(minutes=31))  # the window closed, no report since: the job posts it
    assert sweep_sessions() == "settled 1 closed fast windows, ended 0 silent charging sessions"
    assert state(customer) | {"held": None} == {"charged": 3, "posted": 3, "balance": 497, "held": None,
                                                "entries": 3, "xdrs": 3, "xdr_kb": 300, "active_holds": 1}
    s = now_session(customer)
    # Settling is not hearing from the session: its deadline is still its last report's (at 20 min).
    assert (s.last_seen_at, s.expires_at) == (T0 + timedelta(minutes=20), T0 + timedelta(minutes=35))
    assert sweep_sessions() == "settled 0 closed fast windows, ended 0 silent charging sessions"


def test_a_suspended_account_is_not_fast_pathed(plan, actor):
    from tripleplay.customers.services import change_account_status

    customer, account, nas = subscriber(actor, plan, 5, 500)
    acct(nas, account.login, "Start")
    acct(nas, account.login, "Interim-Update", 100, 60)
    change_account_status(actor, account, "suspended", reason="test")
    acct(nas, account.login, "Interim-Update", 200, 120)
    s = now_session(customer)
    # Python charged and posted it all, refused more and asked the NAS to end the session.
    assert (s.charged_minor, s.posted_minor, s.must_end, s.hold_id) == (2, 2, "not_allowed", None)
    assert state(customer)["entries"] == 2


def test_the_sweeper_posts_a_silent_sessions_window(plan, actor):
    customer, account, nas = subscriber(actor, plan, 6, 500)
    acct(nas, account.login, "Start")
    acct(nas, account.login, "Interim-Update", 500, 60)
    assert state(customer)["posted"] == 0
    clock.freeze(T0 + timedelta(hours=2))  # silent past its deadline (and past its window)
    # The settle job leaves a session due for the sweeper to it, which posts the window and ends it.
    assert sweep_sessions() == "settled 0 closed fast windows, ended 1 silent charging sessions"
    assert state(customer) == {"charged": 5, "posted": 5, "balance": 495, "held": 0, "entries": 5,
                                                "xdrs": 5, "xdr_kb": 500, "active_holds": 0}


def test_a_session_heard_only_through_its_window_is_not_swept(plan, actor):
    """The function writes last_seen_at, not the indexed deadline (a HOT update): the sweeper reads
    the deadline as the idle timeout after the last report and moves it there."""
    customer, account, nas = subscriber(actor, plan, 10, 500)
    acct(nas, account.login, "Start")  # deadline T0 + 15 min
    clock.freeze(T0 + timedelta(minutes=10))
    acct(nas, account.login, "Interim-Update", 100, 600)  # fast: heard at 10 min
    s = now_session(customer)
    assert (s.last_seen_at, s.expires_at) == (T0 + timedelta(minutes=10), T0 + timedelta(minutes=15))
    clock.freeze(T0 + timedelta(minutes=16))
    assert core.sweep_silent() == 0
    s.refresh_from_db()
    assert (s.status, s.expires_at) == ("active", T0 + timedelta(minutes=25))
    clock.freeze(T0 + timedelta(minutes=25))
    assert core.sweep_silent() == 1
    assert state(customer)["posted"] == 1


def test_the_sweeper_alone_posts_a_window_it_ends(plan, actor, settings):
    customer, account, nas = subscriber(actor, plan, 7, 500)
    acct(nas, account.login, "Start")
    acct(nas, account.login, "Interim-Update", 700, 60)
    clock.freeze(T0 + timedelta(hours=2))
    assert core.sweep_silent() == 1  # without the settle job first
    assert state(customer) == {"charged": 7, "posted": 7, "balance": 493, "held": 0, "entries": 7,
                                                "xdrs": 7, "xdr_kb": 700, "active_holds": 0}


def test_a_bill_date_is_never_crossed_with_charges_unposted(plan, actor):
    """Every bill-cycle boundary is a local midnight: a window closes the settle lead (5 min) before it,
    the job posts what it charged, and the invoice of the period has every charge made in it."""
    from tripleplay.invoicing.models import Invoice, InvoiceLine
    from tripleplay.invoicing.services import run_invoices

    evening = datetime(2026, 5, 31, 23, 40, tzinfo=UTC)
    clock.freeze(evening)
    customer, account, nas = subscriber(actor, plan, 8, 500)
    acct(nas, account.login, "Start")
    assert now_session(customer).fast_until == evening + timedelta(minutes=15)  # 23:55
    clock.freeze(evening + timedelta(minutes=10))
    acct(nas, account.login, "Interim-Update", 300, 600)  # 0.03 in the window
    clock.freeze(evening + timedelta(minutes=16))  # 23:56: the job
    assert sweep_sessions().startswith("settled 1 closed fast windows")
    assert now_session(customer).fast_until is None  # no window this close to midnight
    clock.freeze(evening + timedelta(minutes=18))  # 23:58: no window can open, D212's function posts it
    with CaptureQueriesContext(connection) as queries:
        acct(nas, account.login, "Interim-Update", 400, 720)
    assert handled_in_sql(queries) == 1
    assert sum(q["sql"].startswith("SELECT radius_interim_update") for q in queries.captured_queries) == 1
    assert state(customer)["posted"] == 4
    clock.freeze(evening + timedelta(minutes=25))  # 00:05 on the 1st: Python (no window), and a new window
    acct(nas, account.login, "Interim-Update", 500, 1500)
    assert now_session(customer).fast_until == evening + timedelta(minutes=40)
    clock.freeze(evening + timedelta(minutes=30))
    acct(nas, account.login, "Interim-Update", 900, 1800)  # 0.04 in the new window, for June
    assert state(customer) | {"held": None} == {"charged": 9, "posted": 5, "balance": 495, "held": None,
                                                "entries": 5, "xdrs": 5, "xdr_kb": 500, "active_holds": 1}
    midnight = datetime(2026, 6, 1, tzinfo=UTC)
    before = LedgerEntry.objects.filter(customer=customer, kind="charge", created_at__lt=midnight)
    assert -sum(e.amount_minor for e in before) == 4  # 0.03 from the window and 0.01 after it, in May
    assert not run_invoices(actor, date(2026, 6, 1)).failures
    invoice = Invoice.objects.get(customer=customer)
    assert invoice.period_end == date(2026, 6, 1)
    assert sum(ln.amount_minor for ln in InvoiceLine.objects.filter(invoice=invoice, section="usage")) == 4


@pytest.mark.django_db(transaction=True)
def test_200_parallel_interims_with_fast_windows_never_spend_more_than_the_funds(plan, actor, settings, monkeypatch):
    """Beside sessions' test_200_parallel_updates_never_spend_more_than_the_funds: 20 sessions of one
    customer whose funds pay for exactly 300 blocks, 200 Interim-Updates at once, each 100 KB more
    within the session's grant (a NAS honouring it), through the window where they fall in it and
    Python otherwise; then every session drained to exhaustion and stopped at its grant."""
    from tripleplay.radius import charging
    from tripleplay.sessions.tests.test_sessions_concurrency import run_concurrently

    settings.TRIPLEPLAY_SESSION_QUOTA_BYTES = 1_000_000  # 10 blocks (0.10) a quota
    customer, account, nas = subscriber(actor, plan, 9, 300)
    sids = [f"s{k:02d}" for k in range(20)]
    for sid in sids:
        assert acct(nas, account.login, "Start", sid=sid).endswith("(granted: ok)")
    fast, real = [], charging.interim_in_window

    def counted(*args):
        done = real(*args)
        if done is not None:
            fast.append(done)
        return done

    monkeypatch.setattr(charging, "interim_in_window", counted)

    def report(i: int):
        sid = sids[i % len(sids)]
        s = with_windows([ChargingSession.objects.get(client=f"nas:{nas.pk}", session_id=sid)])[0]
        return acct(nas, account.login, "Interim-Update", min(s.used_wire // 1000 + 100, s.granted), 1 + i, sid=sid)

    results = run_concurrently(report, 200)
    assert [r for kind, r in results if kind == "error"] == []
    assert fast  # some were the window's
    assert not LedgerEntry.objects.filter(idempotency_key__contains=":charge:").exists()  # never beyond a hold
    f = Funds.objects.get(customer=customer)
    assert f.balance_minor >= 0 and f.available_minor >= 0
    assert f.balance_minor == sum_of_entries(customer.pk) and f.held_minor == sum_of_active_holds(customer.pk)
    for s in with_windows(ChargingSession.objects.filter(customer=customer, hold__isnull=False)):
        assert s.charged_minor - s.posted_minor <= s.hold.amount_minor
    for k, sid in enumerate(sids):
        while True:
            s = ChargingSession.objects.get(client=f"nas:{nas.pk}", session_id=sid)
            if "exhausted" in acct(nas, account.login, "Interim-Update", s.granted, 10_000 + k, sid=sid):
                break
    for sid in sids:
        s = ChargingSession.objects.get(client=f"nas:{nas.pk}", session_id=sid)
        acct(nas, account.login, "Stop", s.granted, 20_000, sid=sid)
    f = Funds.objects.get(customer=customer)
    # Exactly the 300 blocks the funds paid for were granted, used, charged and posted.
    assert (f.balance_minor, f.held_minor) == (0, 0)
    assert sum(ChargingSession.objects.values_list("billed", flat=True)) == 30_000
    assert sum(ChargingSession.objects.values_list("charged_minor", flat=True)) == 300
    assert sum(ChargingSession.objects.values_list("posted_minor", flat=True)) == 300
    assert -sum(LedgerEntry.objects.filter(kind="charge").values_list("amount_minor", flat=True)) == 300
    assert sum(Xdr.objects.values_list("cost_minor", flat=True)) == 300
    assert not Hold.objects.filter(status="active").exists()


def test_the_settle_job_posts_a_suspended_accounts_window_and_leaves_the_refusal_to_its_next_report(plan, actor):
    """The job takes the session row only: SESSION_MUST_END's handler writes an outbox row referencing
    the NAS session row, which a report locks before the session row; the report decides it."""
    from tripleplay.customers.services import change_account_status
    from tripleplay.radius.models import NasCommand

    customer, account, nas = subscriber(actor, plan, 11, 500)
    acct(nas, account.login, "Start")
    clock.freeze(T0 + timedelta(minutes=10))
    acct(nas, account.login, "Interim-Update", 300, 600)  # 0.03 in the window
    change_account_status(actor, account, "suspended", reason="test")  # its own Disconnect-Request
    commands = list(NasCommand.objects.values_list("pk", "kind"))
    clock.freeze(T0 + timedelta(minutes=15))
    assert sweep_sessions().startswith("settled 1 closed fast windows")
    s = now_session(customer)
    assert (s.charged_minor, s.posted_minor, s.hold_id, s.granted, s.must_end) == (3, 3, None, 300, "")
    assert list(NasCommand.objects.values_list("pk", "kind")) == commands  # the job wrote none
    acct(nas, account.login, "Interim-Update", 300, 900)  # only the time moved: Python refuses it
    s.refresh_from_db()
    assert (s.must_end, s.posted_minor) == ("not_allowed", 3)
    assert state(customer)["entries"] == 3


# -- D295: one row per Interim-Update; what the function no longer reads closes the windows -----------------


def test_the_nas_session_row_gets_every_report_the_window_took_once(plan, actor):
    customer, account, nas = subscriber(actor, plan, 11, 500)
    acct(nas, account.login, "Start")
    for minute, kb in ((1, 100), (2, 200), (2, 200), (3, 300)):  # the third a retransmission
        clock.freeze(T0 + timedelta(minutes=minute))
        assert "(fast window)" in acct(nas, account.login, "Interim-Update", kb, minute * 60)
    row = NetworkSession.objects.get()
    assert (row.input_octets, row.interim_updates) == (0, 0)  # nothing written to it
    now = with_window_reports(NetworkSession.objects.all())[0]  # what the operator and the API see
    assert (now.input_octets, now.output_octets, now.session_time_seconds, now.interim_updates,
            now.updated_at) == (180_000, 120_000, 180, 3, T0 + timedelta(minutes=3))
    # The Stop is the Python path's: it folds the three reports in first, then takes its own counters.
    clock.freeze(T0 + timedelta(minutes=4))
    acct(nas, account.login, "Stop", 350, 240)
    row = NetworkSession.objects.get()
    assert (row.status, row.input_octets, row.output_octets, row.session_time_seconds, row.interim_updates) == (
        "stopped", 210_000, 140_000, 240, 3)
    s = now_session(customer)
    w = window(customer)
    assert (w.reports, w.key, w.until, s.charged_minor, s.posted_minor) == (0, None, None, 4, 4)


@pytest.mark.parametrize("change", ["customer suspended", "account blocked"])
def test_a_status_change_closes_the_window_in_its_transaction(plan, actor, change):
    from tripleplay.customers.services import change_account_status, change_customer_status

    customer, account, nas = subscriber(actor, plan, 12, 500)
    acct(nas, account.login, "Start")
    acct(nas, account.login, "Interim-Update", 100, 60)
    clock.freeze(T0 + timedelta(minutes=2))
    if change == "customer suspended":
        change_customer_status(actor, customer, "suspended", reason="test")
    else:
        change_account_status(actor, account, "blocked", reason="test")
    s = now_session(customer)
    assert s.fast_until == T0 + timedelta(minutes=2)  # closed now: the function reads no status
    clock.freeze(T0 + timedelta(minutes=3))
    with CaptureQueriesContext(connection) as queries:
        acct(nas, account.login, "Interim-Update", 200, 180)
    assert len(queries.captured_queries) > 1  # the Python path: it posts the window and refuses more
    s.refresh_from_db()
    assert (s.charged_minor, s.posted_minor, s.must_end, s.hold_id) == (2, 2, "not_allowed", None)


def test_a_nas_disabled_or_moved_closes_its_windows_and_drops_their_keys(plan, actor):
    customer, account, nas = subscriber(actor, plan, 13, 500)
    acct(nas, account.login, "Start")
    acct(nas, account.login, "Interim-Update", 100, 60)
    clock.freeze(T0 + timedelta(minutes=2))
    services.update_nas(actor, nas, address="198.51.100.13")
    s = now_session(customer)
    assert (s.fast_until, window(customer).until, window(customer).key) == (T0 + timedelta(minutes=2),) * 2 + (None,)
    nas.refresh_from_db()
    clock.freeze(T0 + timedelta(minutes=3))
    acct(nas, account.login, "Interim-Update", 200, 180)  # Python: posts, and a window under the new address
    s.refresh_from_db()
    assert (window(customer).key, s.posted_minor, s.fast_until) == (f"198.51.100.13 {SID}", 2, T0 + timedelta(minutes=18))
    services.update_nas(actor, nas, enabled=False)
    s.refresh_from_db()
    assert (s.fast_until, window(customer).until, window(customer).key) == (T0 + timedelta(minutes=3),) * 2 + (None,)
    services.update_nas(actor, nas, name="renamed")  # nothing the fast path reads: windows stay as they are
    assert now_session(customer).fast_until == T0 + timedelta(minutes=3)


def test_a_key_names_one_session(plan, actor):
    """A key left on another session (its NAS's address given to a new NAS meanwhile) is dropped by a
    start that needs it, instead of failing the start on the unique index."""
    customer, account, nas = subscriber(actor, plan, 14, 5_000)
    acct(nas, account.login, "Start")
    ChargingSession.objects.filter(customer=customer).update(client="nas:0")  # as if another NAS's session
    acct(nas, account.login, "Start", sid="another")
    ChargingWindow.objects.filter(session__session_id="another").update(key=None)
    ChargingWindow.objects.filter(session__session_id=SID).update(key=f"{nas.address} again")
    assert acct(nas, account.login, "Start", sid="again").endswith("(granted: ok)")
    keys = dict(ChargingWindow.objects.filter(session__customer=customer).values_list("session__session_id", "key"))
    assert keys == {SID: None, "another": None, "again": f"{nas.address} again"}


def test_the_key_is_the_address_as_postgresql_prints_it(db):
    from tripleplay.radius.charging import window_key

    for written in ("192.0.2.1", "2001:db8::1", "2001:0DB8:0000:0000:0000:0000:0000:0001", "fe80::1:0:0:0",
                    "2001:db8:0:0:1:0:0:1", "2001:db8::ffff:1:2", "::1:0:0"):
        with connection.cursor() as c:
            c.execute("SELECT host(%s::inet) || ' ' || left(%s, 64)", [written, "x" * 70])
            assert window_key(written, "x" * 70) == c.fetchone()[0], written
    # PostgreSQL prints these with an IPv4 tail, Python 3.11 does not: no key, the Python path.
    assert window_key("::ffff:192.0.2.1", "x") is None and window_key("::1", "x") is None


@pytest.mark.parametrize("giga", [2**31 - 1, 2**31, 2**32 - 1, 2**40])
def test_extreme_counters_are_bounded_not_overflowed(plan, actor, giga):
    """bigint arithmetic (no numeric) bounded as radius.services._octets: no "bigint out of range"
    whatever the NAS sends; usage beyond the window is the Python path's (0, nothing written)."""
    customer, account, nas = subscriber(actor, plan, 15, 500)
    acct(nas, account.login, "Start")
    with connection.cursor() as c:
        c.execute("SELECT radius_sql_interim(%s, %s, %s, %s, %s, %s, %s, NULL, 0, NULL)",
                  [nas.address, SID, 2**32 - 1, giga, 2**32 - 1, giga, 2**32 - 1])
        assert c.fetchone()[0] == 0
    w = window(customer)
    assert (w.reports, w.reported_input, w.charged_minor) == (0, 0, 0)
