"""End to end through Debian's FreeRADIUS on PostgreSQL (D280): an Interim-Update inside its session's
fast window is answered by rlm_sql (mods/tripleplay_sql calling radius_sql_interim) without a call to
tripleplay's Python, and the money is exact; the same requests through a FreeRADIUS rendered with the
SQL path off (TRIPLEPLAY_RADIUS_SQL=0: rlm_rest only) make one Python call each and cost the same."""

from __future__ import annotations

import pytest

from tripleplay.customers.services import create_account
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.radius import services
from tripleplay.radius.models import NetworkSession
from tripleplay.radius.selectors import with_window_reports
from tripleplay.radius.tests.conftest import MIKROTIK_SECRET, needs_freeradius, radclient
from tripleplay.rating.models import Xdr
from tripleplay.sessions.models import ChargingSession
from tripleplay.sessions.selectors import with_windows

pytestmark = [needs_freeradius, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def accounting_calls(monkeypatch):
    """The accounting requests that reached tripleplay's Python (rlm_rest), by Acct-Status-Type (conftest's
    calls has the paths of every rlm_rest call)."""
    seen: list[str] = []
    real = services.record_accounting

    def counted(nas, attrs):
        seen.append(attrs["Acct-Status-Type"][0])
        return real(nas, attrs)

    monkeypatch.setattr(services, "record_accounting", counted)
    return seen


@pytest.fixture
def subscriber(actor, catalog, internet_volume_plan, make_customer, aaa_token):
    services.create_nas(actor, name="mikrotik-1", address="127.0.0.1", secret=MIKROTIK_SECRET, vendor="mikrotik")
    services.set_internet_service(actor, catalog.internet, download_kbps=100_000, upload_kbps=20_000)
    customer = make_customer()  # on internet_volume_plan: 0.01 per 100 KB, in 100 KB blocks
    record_payment(actor, customer, Money(10_000, "USD"), idempotency_key="seed")
    create_account(actor, customer, main_plan=internet_volume_plan, login="fay")
    return customer


def acct(server, status: str, kb: int, seconds: int) -> str:
    reply = radclient(server, "acct", f'Acct-Status-Type = {status}, Acct-Session-Id = "fay-1", User-Name = "fay", '
                                      f'Acct-Input-Octets = {kb * 600}, Acct-Output-Octets = {kb * 400}, '
                                      f'Acct-Session-Time = {seconds}, Framed-IP-Address = 10.0.0.9')
    return reply.code


def run(server, customer, calls: list[str]) -> dict:
    assert acct(server, "Start", 0, 0) == "Accounting-Response"
    # The dynamic client is known now (the first packet makes FreeRADIUS look the NAS up).
    interims = [(300, 60), (300, 60), (700, 120), (1_200, 180)]  # KB so far; the second a retransmission
    for kb, seconds in interims:
        assert acct(server, "Interim-Update", kb, seconds) == "Accounting-Response"
    ns = with_window_reports([NetworkSession.objects.get()])[0]  # as the operator sees it (D295)
    s = with_windows([ChargingSession.objects.get(customer=customer)])[0]  # the window's charges laid over (D296)
    written = NetworkSession.objects.get()  # the row itself: the fast path wrote the charging session only
    during_row = (written.input_octets, written.interim_updates)
    during = {"network": (ns.input_octets, ns.output_octets, ns.session_time_seconds, ns.interim_updates,
                          ns.framed_ip),
              "charged": (s.used_wire, s.billed, s.charged_minor), "posted": s.posted_minor,
              "balance": Funds.objects.get(customer=customer).balance_minor, "calls": list(calls), "row": during_row}
    assert acct(server, "Stop", 1_250, 200) == "Accounting-Response"
    f = Funds.objects.get(customer=customer)
    charges = LedgerEntry.objects.filter(customer=customer, kind="charge")
    return {"during": during, "funds": (f.balance_minor, f.held_minor),
            "entries": sum(e.amount_minor for e in LedgerEntry.objects.filter(customer=customer)),
            "charged": -sum(e.amount_minor for e in charges), "xdrs": sum(x.cost_minor for x in Xdr.objects.all()),
            "active_holds": Hold.objects.filter(customer=customer, status="active").count(),
            "calls": list(calls)}


def test_an_interim_inside_the_window_is_answered_by_rlm_sql_without_python(radius_server, subscriber,
                                                                            accounting_calls):
    assert radius_server.settings.sql  # PostgreSQL with TRIPLEPLAY_RADIUS_SQL on (the default)
    out = run(radius_server, subscriber, accounting_calls)
    # Start and Stop through rlm_rest; the three interims (and the retransmission) never reached Python.
    assert out["during"]["calls"] == ["Start"]
    assert out["during"]["network"] == (720_000, 480_000, 180, 3, "10.0.0.9")
    assert out["during"]["row"] == (0, 0)  # the NAS session row waits for the Python path's fold
    # 1,200 KB: 0.12 charged in the fast window, held, nothing posted yet: the balance is the payment.
    assert out["during"]["charged"] == (1_200_000, 1_200, 12) and out["during"]["posted"] == 0
    assert out["during"]["balance"] == 10_000
    # The Stop posts all of it: 1,300 KB (1,250 KB billed in 100 KB blocks), 0.13.
    assert out["calls"] == ["Start", "Stop"]
    assert out["funds"] == (10_000 - 13, 0) and out["entries"] == 10_000 - 13
    assert (out["charged"], out["xdrs"], out["active_holds"]) == (13, 13, 0)


def test_the_rest_only_path_makes_a_python_call_per_request_and_costs_the_same(rest_radius_server, subscriber,
                                                                                  accounting_calls, settings):
    assert not rest_radius_server.settings.sql
    settings.TRIPLEPLAY_SESSION_FAST_WINDOW_SECONDS = 0  # as TRIPLEPLAY_SESSION_DB_FUNCTIONS=0: no window
    out = run(rest_radius_server, subscriber, accounting_calls)
    assert out["during"]["calls"] == ["Start", "Interim-Update", "Interim-Update", "Interim-Update", "Interim-Update"]
    assert out["during"]["network"] == (720_000, 480_000, 180, 3, "10.0.0.9")
    assert out["during"]["charged"] == (1_200_000, 1_200, 12) and out["during"]["posted"] == 12
    assert out["during"]["balance"] == 10_000 - 12
    assert out["funds"] == (10_000 - 13, 0) and out["entries"] == 10_000 - 13
    assert (out["charged"], out["xdrs"], out["active_holds"]) == (13, 13, 0)
