"""Accounting as tripleplay stores it (no FreeRADIUS needed): cumulative counters, idempotent repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tripleplay import clock
from tripleplay.radius import services
from tripleplay.radius.models import NetworkSession, SessionStatus

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def nas(actor, db):
    return services.create_nas(actor, name="bras", address="192.0.2.1", secret="secret-123", vendor="mikrotik")


def acct(nas, status, sid="a1", **counters):
    attrs = {"Acct-Status-Type": [status], "Acct-Session-Id": [sid], "User-Name": ["nobody"]}
    attrs.update({k: [str(v)] for k, v in counters.items()})
    return services.record_accounting(nas, attrs)


def test_interim_counters_are_cumulative_and_a_lower_or_equal_repeat_changes_nothing(nas):
    clock.freeze(T0)
    acct(nas, "Start")
    clock.freeze(T0 + timedelta(minutes=5))
    acct(nas, "Interim-Update", **{"Acct-Input-Octets": 100, "Acct-Input-Gigawords": 1, "Acct-Output-Octets": 50,
                                   "Acct-Session-Time": 300})
    clock.freeze(T0 + timedelta(minutes=6))
    assert acct(nas, "Interim-Update", **{"Acct-Input-Octets": 100, "Acct-Input-Gigawords": 1,
                                          "Acct-Output-Octets": 50, "Acct-Session-Time": 300}).endswith("unchanged")
    assert acct(nas, "Interim-Update", **{"Acct-Input-Octets": 10, "Acct-Session-Time": 200}).endswith("unchanged")
    s = NetworkSession.objects.get()
    assert (s.input_octets, s.output_octets, s.session_time_seconds, s.interim_updates, s.updated_at) == (
        (1 << 32) + 100, 50, 300, 1, T0 + timedelta(minutes=5))


def test_a_stop_without_a_start_records_the_whole_session_and_a_repeat_is_ignored(nas):
    clock.freeze(T0)
    acct(nas, "Stop", sid="b1", **{"Acct-Session-Time": 120, "Acct-Output-Octets": 9, "Acct-Delay-Time": 10,
                                   "Acct-Terminate-Cause": "Lost-Carrier"})
    s = NetworkSession.objects.get()
    assert (s.status, s.started_at, s.stopped_at, s.output_octets, s.terminate_cause) == (
        SessionStatus.STOPPED, T0 - timedelta(seconds=130), T0 - timedelta(seconds=10), 9, "Lost-Carrier")
    assert acct(nas, "Stop", sid="b1", **{"Acct-Session-Time": 999}).endswith("already stopped, ignored")
    assert NetworkSession.objects.get().session_time_seconds == 120


def test_out_of_range_counters_and_a_malformed_address_are_bounded_not_refused(nas):
    acct(nas, "Start", sid="c1", **{"Framed-IP-Address": "not-an-ip"})
    acct(nas, "Interim-Update", sid="c1", **{"Acct-Input-Gigawords": 2**40, "Acct-Input-Octets": 2**40,
                                             "Acct-Session-Time": "12x"})
    s = NetworkSession.objects.get()
    assert (s.framed_ip, s.input_octets, s.session_time_seconds) == (None, 2**63 - 1, 0)


def test_unsupported_requests_are_refused(nas):
    with pytest.raises(services.Accounting):
        services.record_accounting(nas, {"Acct-Status-Type": ["Start"]})
    with pytest.raises(services.Accounting):
        services.record_accounting(nas, {"Acct-Status-Type": ["Tunnel-Start"], "Acct-Session-Id": ["x"]})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_duplicate_starts_racing_on_postgresql_make_one_session(actor):
    """A NAS's retransmissions carry new Identifiers, so FreeRADIUS passes each one on: many copies of
    one Start (and Interim) in parallel leave exactly one session with the interim counted once."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    nas = services.create_nas(actor, name="race", address="192.0.2.2", secret="secret-123", vendor="huawei")

    def send(status, **counters):
        try:
            return acct(nas, status, sid="race-1", **counters)
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: send("Start"), range(16)))
    # The one that created the session says so (and what charging answered: no such login here).
    assert sum(" started (" in r for r in results) == 1
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: send("Interim-Update", **{"Acct-Session-Time": 60, "Acct-Input-Octets": 5}),
                                range(16)))
    assert sum(" updated (" in r for r in results) == 1
    s = NetworkSession.objects.get()
    assert (s.session_time_seconds, s.input_octets, s.interim_updates) == (60, 5, 1)
