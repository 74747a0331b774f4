"""PostgreSQL: an Interim-Update charged by one database function (radius_interim_update, which calls
the charging core's sessions_update_charge and the ledger's capture and place functions, D212) writes
exactly what the Python path writes, to the minor unit: the NAS's session row, the charging session,
the funds, every ledger entry and hold with its key and fingerprint, the xDRs, the audit events. Every
case the function does not take (a retransmission, usage beyond the reservation, the funds running out,
the Stop) is the Python path's in both runs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.idempotency import fingerprint
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.radius.tests.conftest import VOLUME_T0, volume_subscriber
from tripleplay.rating.models import Xdr
from tripleplay.sessions import services as core
from tripleplay.sessions.models import ChargingSession

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _no_fast_windows(settings):
    """D212's function, as it runs with the fast windows off (D280: test_fast_window.py has them)."""
    settings.TRIPLEPLAY_SESSION_FAST_WINDOW_SECONDS = 0

T0 = VOLUME_T0
SID = "0000a1b2"


@pytest.fixture
def world(volume_plan):
    return volume_plan


_subscriber = volume_subscriber


def _acct(nas, login, status, kb_in=0, kb_out=0, seconds=0, **extra):
    from tripleplay.radius import services

    attrs = {"Acct-Status-Type": [status], "Acct-Session-Id": [SID], "User-Name": [login],
             "Acct-Input-Octets": [str(kb_in * 1000)], "Acct-Output-Octets": [str(kb_out * 1000)],
             "Acct-Session-Time": [str(seconds)], **{k: [str(v)] for k, v in extra.items()}}
    return services.record_accounting(nas, attrs)


def _scenario(nas, login) -> list[str]:
    out = []
    steps = [
        ("Start", 0, 0, 0, {}),
        ("Interim-Update", 60, 40, 60, {"Framed-IP-Address": "10.0.0.7"}),  # 100 KB: 0.01, the function
        ("Interim-Update", 60, 40, 60, {}),  # a retransmission: nothing
        ("Interim-Update", 27_000, 18_000, 600, {"Acct-Delay-Time": 5}),  # 45 MB: 4.49 from the hold
        ("Interim-Update", 20, 10, 30, {}),  # a late duplicate: nothing
        ("Interim-Update", 27_100, 18_000, 660, {}),  # 0.01 more within the last, smaller hold
        ("Interim-Update", 42_000, 28_000, 900, {}),  # beyond the reservation: charged, funds run out
        ("Interim-Update", 42_100, 28_000, 960, {}),  # exhausted: charged whatever the funds
        ("Stop", 42_200, 28_000, 1000, {"Acct-Terminate-Cause": "User-Request"}),
    ]
    for k, (status, kb_in, kb_out, seconds, extra) in enumerate(steps):
        clock.freeze(T0 + timedelta(minutes=k))
        out.append(_acct(nas, login, status, kb_in, kb_out, seconds, **extra))
    return out


def _rows(customer, account, nas) -> dict:
    """Everything the run wrote, with its database ids replaced by what they stand for."""
    holds = {h.pk: i for i, h in enumerate(Hold.objects.filter(customer=customer).order_by("pk"))}
    entries = {e.pk: i for i, e in enumerate(LedgerEntry.objects.filter(customer=customer).order_by("pk"))}
    s = ChargingSession.objects.get(customer=customer)

    def norm(value):
        if isinstance(value, str):
            if value == account.login:
                return "LOGIN"
            value = re.sub(rf"\bsession:{s.pk}\b", "session:S", value)
            value = re.sub(rf"\bnas:{nas.pk}\b", "nas:N", value)
            return re.sub(rf"^{s.pk}:(\d+)$", r"S:\1", value)
        if isinstance(value, dict):
            return {k: ("S" if k == "session" and v == s.pk else norm(v)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(norm(v) for v in value)
        return value

    hold_rows = []
    for h in Hold.objects.filter(customer=customer).order_by("pk"):
        assert h.request_fingerprint == fingerprint(customer=h.customer_id, amount=h.amount_minor, currency=h.currency,
                                                    account=h.account_id, reference=h.reference,
                                                    description=h.description)
        hold_rows.append(norm((h.account_id == account.pk, h.amount_minor, h.currency, h.status, h.idempotency_key,
                               h.reference, h.description, h.created_at, h.expires_at, h.settled_at,
                               h.captured_minor, entries.get(h.entry_id))))
    entry_rows = []
    for e in LedgerEntry.objects.filter(customer=customer).order_by("pk"):
        hold = Hold.objects.filter(entry=e).first()
        if hold is not None:
            assert e.idempotency_key == f"hold:{hold.pk}:capture"
            assert e.request_fingerprint == fingerprint(hold=hold.pk, amount=-e.amount_minor)
            key = f"capture of hold {holds[hold.pk]}"
        else:
            key = "payment" if e.kind == "payment" else norm(e.idempotency_key)
        entry_rows.append(norm((e.kind, e.amount_minor, e.currency, e.balance_after_minor, e.description, e.reason,
                                e.source, e.reference, e.service_type, e.created_at, e.data, e.actor_kind,
                                e.actor_ref, e.actor_name, e.account_id == account.pk, key)))
    audit = []
    for a in AuditEvent.objects.filter(object_type="hold", object_id__in=[str(pk) for pk in holds]).order_by("pk"):
        data = {k: (entries.get(v) if k == "entry" else v) for k, v in a.data.items()}
        data.pop("customer", None)
        audit.append(norm((a.action, holds[int(a.object_id)], a.actor_kind, a.actor_ref, a.actor_name, a.at, data)))
    xdrs = [norm((x.external_id, x.service_type, x.account_id == account.pk, x.caller, x.callee, x.login, x.bytes,
                  x.count, x.destination, x.started_at, x.duration_seconds, x.raw, x.status, x.error_code,
                  x.error_reason, x.billed_quantity, x.allowance_used, x.offpeak, x.cost_minor, x.currency,
                  entries.get(x.ledger_entry_id), x.received_at, x.rated_at, x.rate_id))
            for x in Xdr.objects.filter(account=account).order_by("pk")]
    charged = norm((s.client, s.session_id, s.service_type, s.subscriber, s.status, s.end_reason, s.used, s.used_wire,
                    s.billed, s.free, s.charged_minor, s.granted, holds.get(s.hold_id), s.holds_placed, s.charges,
                    s.last_sequence, s.must_end, s.started_at, s.last_seen_at, s.expires_at, s.ended_at, s.answers))
    from tripleplay.radius.models import NasCommand, NetworkSession

    ns = NetworkSession.objects.get(nas=nas)
    network = (norm(ns.username), ns.account_id == account.pk, ns.framed_ip, ns.input_octets, ns.output_octets,
               ns.session_time_seconds, ns.status, ns.started_at, ns.updated_at, ns.stopped_at, ns.terminate_cause,
               ns.interim_updates)
    commands = [(c.kind, c.status, c.reason) for c in NasCommand.objects.filter(nas=nas).order_by("pk")]
    f = Funds.objects.get(customer=customer)
    return {"funds": (f.balance_minor, f.held_minor), "holds": hold_rows, "entries": entry_rows, "audit": audit,
            "xdrs": xdrs, "charging": charged, "network": network, "commands": commands}


def test_the_database_function_and_the_python_path_write_the_same(world, actor, monkeypatch):
    results, calls = {}, {}
    for n, path in ((1, "db_function"), (2, "python")):
        monkeypatch.setattr(core, "USE_DB_FUNCTIONS", path == "db_function")
        clock.freeze(T0)
        customer, account, nas = _subscriber(actor, world, n, 500)
        with CaptureQueriesContext(connection) as queries:
            outcomes = _scenario(nas, account.login)
        calls[path] = sum(q["sql"].startswith("SELECT radius_interim_update") for q in queries.captured_queries)
        results[path] = ([re.sub(r"session \d+", "session S", o) for o in outcomes], _rows(customer, account, nas))
    assert calls == {"db_function": 3, "python": 0}  # the three interims within the reservation
    assert results["db_function"][0] == results["python"][0]
    for key in results["python"][1]:
        assert results["db_function"][1][key] == results["python"][1][key], key
    outcomes, rows = results["python"]
    assert [o.rsplit("(", 1)[-1] if "(" in o else o.rsplit(" ", 1)[-1] for o in outcomes] == [
        "granted: ok)", "granted: ok)", "unchanged", "granted: ok)", "unchanged", "granted: ok)",
        "exhausted: insufficient_funds)", "exhausted: insufficient_funds)", "stopped: ok)"]
    # 70.2 MB at 0.01 per 100 KB: 7.02 charged of 5.00 paid, every charge an entry, balance = entries
    assert rows["funds"] == (500 - 702, 0)
    assert -sum(e[1] for e in rows["entries"] if e[0] == "charge") == 702
    assert sum(x[18] for x in rows["xdrs"]) == 702
    assert rows["commands"] == [("disconnect", "pending", "Charging: quota_exhausted (insufficient_funds)")]


def test_a_report_that_changed_meanwhile_is_left_to_the_python_path(world, actor):
    """The guards: a charging session that moved since it was read makes the function answer NULL
    (nothing written), a hold that cannot be captured as computed raises TP001 (everything undone)."""
    customer, account, nas = _subscriber(actor, world, 3, 500)
    _acct(nas, account.login, "Start")
    call = core.prepare_update(f"nas:{nas.pk}", SID, 100_000)
    assert call is not None
    stale = list(call.params)
    stale[1] = 99  # used_wire as another report would have left it
    sql = f"SELECT sessions_update_charge({call.placeholders()})"
    assert core.run_db_function(connection, sql, stale) is None
    wrong = list(call.params)
    wrong[11] += 1  # the funds after the capture, as if they had moved since they were read
    assert core.run_db_function(connection, sql, wrong) is None
    s = ChargingSession.objects.get(customer=customer)
    assert (s.used_wire, s.charged_minor, s.holds_placed, s.charges) == (0, 0, 1, 0)
    assert Funds.objects.get(customer=customer).balance_minor == 500
    assert not LedgerEntry.objects.filter(customer=customer, kind="charge").exists()
    assert core.run_db_function(connection, sql, call.params) == 0  # as computed: 4.99 held of the 4.99 left
    s.refresh_from_db()
    assert (s.used_wire, s.charged_minor, s.holds_placed, s.charges) == (100_000, 1, 2, 1)


@pytest.mark.parametrize("app", ["sessions", "radius"])
def test_installed_definitions_equal_the_files(db, app):
    from tripleplay.core.sqlfiles import definitions_differ, function_names, sql_files

    assert [n for p in sql_files(app) for n in function_names(p)] == (
        ["sessions_update_charge"] if app == "sessions"
        else ["radius_interim_update", "radius_sql_authorize_pap", "radius_sql_post_auth", "radius_sql_post_auth_batch",
              "radius_sql_interim"])
    assert definitions_differ(app) == []


@pytest.mark.parametrize("on", [True, False])
def test_the_operators_switch_turns_the_function_off(world, actor, on):
    """settings.TRIPLEPLAY_SESSION_DB_FUNCTIONS (env TRIPLEPLAY_SESSION_DB_FUNCTIONS=0): off, every
    report is the Python path's; the charge is the same either way."""
    from django.test import override_settings

    customer, account, nas = _subscriber(actor, world, 4, 500)
    _acct(nas, account.login, "Start")
    with override_settings(TRIPLEPLAY_SESSION_DB_FUNCTIONS=on), CaptureQueriesContext(connection) as queries:
        outcome = _acct(nas, account.login, "Interim-Update", 60, 40, 60)
    called = [q["sql"].split("(")[0] for q in queries.captured_queries
              if q["sql"].startswith(("SELECT radius_interim_update", "SELECT sessions_update_charge"))]
    assert called == (["SELECT radius_interim_update"] if on else [])
    assert outcome.endswith("(granted: ok)")
    assert ChargingSession.objects.get(customer=customer).charged_minor == 1
    assert Funds.objects.get(customer=customer).balance_minor == 499
