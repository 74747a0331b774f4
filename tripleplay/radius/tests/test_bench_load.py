"""bench/radius.py's load generator (docs/radius.md, Performance): its packets, built once with pyrad and
re-signed per request, are what a NAS sends (pyrad verifies them), and a tiny run through Debian's
FreeRADIUS into tripleplay's live server is answered and charged exactly."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io

import pytest
from pyrad.dictionary import Dictionary
from pyrad.packet import AcctPacket, AuthPacket

from bench import radius as bench
from tripleplay.customers.services import create_account
from tripleplay.ledger.models import Funds, LedgerEntry
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.radius import services
from tripleplay.radius.models import NetworkSession
from tripleplay.radius.selectors import with_window_reports
from tripleplay.radius.tests.conftest import needs_freeradius
from tripleplay.simulators.nas import DICTIONARY


def _dictionary():
    return Dictionary(io.StringIO(DICTIONARY))


def test_an_access_request_is_resigned_per_identifier():
    template = bench.AccessTemplate(_dictionary(), "s3cret-nas", "u7", "pw-of-u7")
    first, second = template.packet(7), template.packet(8)
    assert (first[1], second[1]) == (7, 8) and first[4:20] != second[4:20]  # a new Request Authenticator
    for raw in (first, second):
        pkt = AuthPacket(packet=raw, secret=b"s3cret-nas", dict=_dictionary())
        assert pkt["User-Name"] == ["u7"]
        assert pkt.PwDecrypt(pkt["User-Password"][0]) == "pw-of-u7"
        at = template.ma_at
        zeroed = raw[:at] + bytes(16) + raw[at + 16:]
        assert raw[at:at + 16] == hmac.new(b"s3cret-nas", zeroed, "md5").digest()  # RFC 3579 3.2


def test_an_accounting_request_carries_the_counters_and_a_valid_authenticator():
    template = bench.AccountingTemplate(_dictionary(), "s3cret-nas", "u7", "sess-7", "10.0.0.7")
    template.sent = 3
    raw = template.packet(9, 3)
    pkt = AcctPacket(packet=raw, secret=b"s3cret-nas", dict=_dictionary())
    assert pkt.VerifyAcctRequest()
    assert (pkt["Acct-Status-Type"], pkt["Acct-Session-Id"], pkt["Acct-Input-Octets"], pkt["Acct-Output-Octets"],
            pkt["Acct-Session-Time"]) == (["Interim-Update"], ["sess-7"], [180_000], [120_000], [180])
    assert raw[4:20] == hashlib.md5(raw[:4] + bytes(16) + raw[20:] + b"s3cret-nas").digest()


# PostgreSQL: on SQLite the live server shares the test's in-memory connection, and FreeRADIUS's
# concurrent rlm_rest calls (4 in flight here) stall on it.
@needs_freeradius
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_tiny_run_through_freeradius_is_answered_and_charged_exactly(radius_server, aaa_token, actor, catalog,
                                                                      internet_volume_plan, make_customer, monkeypatch):
    services.create_nas(actor, name="bench-nas", address="127.0.0.1", secret=bench.SECRET, vendor="mikrotik")
    services.set_internet_service(actor, catalog.internet, download_kbps=100_000, upload_kbps=20_000)
    customers = []
    for i in range(2):
        customer = make_customer()
        record_payment(actor, customer, Money(10_000, "USD"), idempotency_key=f"bench-{i}")
        account = create_account(actor, customer, main_plan=internet_volume_plan, login=f"u{i}")
        services.set_internet_password(actor, account, bench.PASSWORD)
        customers.append(customer)
    dictionary = _dictionary()
    auth, acct = radius_server.settings.auth_port, radius_server.settings.acct_port
    access = [bench.AccessTemplate(dictionary, bench.SECRET, f"u{i}", bench.PASSWORD) for i in range(2)]
    sessions = [bench.AccountingTemplate(dictionary, bench.SECRET, f"u{i}", f"t-{i}", f"10.0.0.{i + 1}")
                for i in range(2)]
    # FreeRADIUS drops the packet that makes it look the NAS up (sites/dynamic_clients); a NAS resends
    # it. The bench's warm-up does the same before it measures.
    monkeypatch.setattr(bench, "TIMEOUT", 2.0)
    asyncio.run(bench.drive(auth, lambda: access[0], lambda t, ident: t.packet(ident), 2, inflight=1, seconds=5,
                            count=1))
    ring = iter(access * 5)
    r = asyncio.run(bench.drive(auth, lambda: next(ring), lambda t, ident: t.packet(ident), 2, inflight=4,
                                seconds=30, count=10))
    assert (r["answered"], r["lost"], r["wrong"]) == (10, 0, 0)
    starts = iter(sessions)
    r = asyncio.run(bench.drive(acct, lambda: next(starts), lambda t, ident: t.packet(ident, 1), 5, inflight=2,
                                seconds=30, count=2))
    assert (r["answered"], r["lost"], r["wrong"]) == (2, 0, 0)
    order = iter([sessions[0], sessions[1]] * 3)

    def interim():
        s = next(order)
        s.sent += 1
        return s

    r = asyncio.run(bench.drive(acct, interim, lambda t, ident: t.packet(ident, 3), 5, inflight=1, seconds=30, count=6))
    assert (r["answered"], r["lost"], r["wrong"]) == (6, 0, 0)
    # Three Interim-Updates of 100 KB each per session, 0.01 per 100 KB: 0.03 charged to each customer,
    # inside the session's fast window (D280): charged, held, not yet posted; the Stop posts it.
    # The NAS's counters are on the charging session until the Python path folds them (D295).
    now = with_window_reports(NetworkSession.objects.all())
    assert sorted((s.acct_session_id, s.input_octets, s.output_octets, s.interim_updates) for s in now) == [
        ("t-0", 180_000, 120_000, 3), ("t-1", 180_000, 120_000, 3)]
    from tripleplay.radius import charging
    from tripleplay.sessions.models import ChargingSession
    from tripleplay.sessions.selectors import with_windows

    for s in with_windows(ChargingSession.objects.all()):  # the window's charges laid over (D296)
        assert (s.used_wire, s.charged_minor, s.posted_minor) == (300_000, 3, 0)
        assert Funds.objects.get(customer=s.customer).balance_minor == 10_000
    for session in NetworkSession.objects.all():
        assert charging.stopped(session)["charged_minor"] == 3
    for customer in customers:
        charges = LedgerEntry.objects.filter(customer=customer, kind="charge")
        assert -sum(e.amount_minor for e in charges) == 3
        entries = LedgerEntry.objects.filter(customer=customer)
        assert Funds.objects.get(customer=customer).balance_minor == sum(e.amount_minor for e in entries) == 9_997
