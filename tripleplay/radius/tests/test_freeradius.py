"""End to end through Debian's FreeRADIUS (its own process, the repository's configuration, rlm_rest
into tripleplay's live server): radclient and the simulated NAS log in, account, and are disconnected."""

from __future__ import annotations

import time

import pytest

from tripleplay.core import scheduler
from tripleplay.customers.services import change_customer_status
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.radius import services
from tripleplay.radius.coa import RetryPolicy, Sender
from tripleplay.radius.models import CommandStatus, InternetLogin, NasCommand, NetworkSession, SessionStatus
from tripleplay.radius.tests.conftest import (
    HUAWEI_ADDRESS,
    HUAWEI_SECRET,
    MIKROTIK_SECRET,
    needs_freeradius,
    radclient,
)

pytestmark = [needs_freeradius, pytest.mark.django_db(transaction=True)]


def scheduler_loop(name: str):
    """A worker loop by name: what `tripleplay worker` runs between its batches."""
    return next(loop for loop in scheduler.registered_loops() if loop.name == name)


@pytest.fixture
def world(actor, catalog, internet_service, internet_subscriber, aaa_token):
    mikrotik = services.create_nas(actor, name="mikrotik-1", address="127.0.0.1", secret=MIKROTIK_SECRET,
                                   vendor="mikrotik")
    huawei = services.create_nas(actor, name="huawei-1", address=HUAWEI_ADDRESS, secret=HUAWEI_SECRET, vendor="huawei")
    return {"mikrotik": mikrotik, "huawei": huawei, "subscriber": internet_subscriber, "catalog": catalog}


def test_access_accept_carries_the_products_attributes_in_mikrotiks_dictionary(radius_server, world):
    world["subscriber"]("alice")
    reply = radclient(radius_server, "auth", 'User-Name = "alice", User-Password = "s3cret-pw"')
    assert reply.code == "Access-Accept", reply.output
    assert reply.attributes == {"Mikrotik-Rate-Limit": "20000k/100000k", "Session-Timeout": "86400",
                                "Idle-Timeout": "600", "Acct-Interim-Interval": "300", "Framed-Pool": "pool-fiber"}


def test_access_accept_in_huaweis_dictionary_through_the_nas_simulator(radius_server, huawei_nas, world):
    world["subscriber"]("bob")
    huawei_nas.reset()
    login = huawei_nas.login("bob", "s3cret-pw")
    assert login["accepted"], login
    assert login["reply"] == {"Huawei-Input-Average-Rate": ["20000000"], "Huawei-Output-Average-Rate": ["100000000"],
                              "Huawei-Framed-Pool": ["pool-fiber"], "Framed-Pool": ["pool-fiber"],
                              "Session-Timeout": ["86400"], "Idle-Timeout": ["600"], "Acct-Interim-Interval": ["300"]}


@pytest.mark.parametrize("case, code", [
    ("unknown", "unknown_user"),
    ("wrong_password", "wrong_password"),
    ("suspended", "suspended"),
    ("blocked", "blocked"),
    ("closed", "closed"),
    ("no_funds", "no_funds"),
    ("no_service", "no_internet_service"),
])
def test_access_reject_names_the_reason(radius_server, world, actor, case, code):
    account = world["subscriber"]("carol", funds=0 if case == "no_funds" else 10_000,
                                  plan=world["catalog"].tv_plan if case == "no_service" else None)
    if case in ("suspended", "blocked", "closed"):
        change_customer_status(actor, account.customer, case, reason="test")
    user = "nobody" if case == "unknown" else "carol"
    password = "not-it" if case == "wrong_password" else "s3cret-pw"
    reply = radclient(radius_server, "auth", f'User-Name = "{user}", User-Password = "{password}"')
    assert reply.code == "Access-Reject", reply.output
    assert reply.attributes["Reply-Message"].split(":")[0] == code, reply.output


def _last_login(login: str):
    return InternetLogin.objects.filter(account__login=login).values_list("last_auth_at", "last_nas__name").get()


def test_a_pap_login_is_one_call_checked_and_recorded_by_authorize(radius_server, world, calls):
    """D240: PAP's password is checked by tripleplay's authorize, which records the login; FreeRADIUS
    accepts with Auth-Type Accept and calls nothing more. A wrong password is refused by the same call
    and records nothing. On the SQL path (D272) no call reaches Python for an accepted login (its
    logins reader records it from FreeRADIUS's file, D273) and a wrong password's only call names the refusal."""
    world["subscriber"]("paula")
    sql = radius_server.settings.sql_host is not None  # PostgreSQL: the SQL path answers (D272), pap checks
    reply = radclient(radius_server, "auth", 'User-Name = "paula", User-Password = "not-it"')
    assert (reply.code, reply.attributes) == ("Access-Reject", {"Reply-Message": "wrong_password: wrong password"})
    assert calls == (["post-auth/reject"] if sql else ["authorize"])
    assert _last_login("paula") == (None, None)
    calls.clear()
    reply = radclient(radius_server, "auth", 'User-Name = "paula", User-Password = "s3cret-pw"')
    assert reply.code == "Access-Accept", reply.output
    assert reply.attributes["Mikrotik-Rate-Limit"] == "20000k/100000k"
    assert calls == ([] if sql else ["authorize"])
    if sql:  # recorded by FreeRADIUS's logins reader from its file, within its poll interval (D273)
        from tripleplay.radius.tests.test_sql_path import wait_for_login

        wait_for_login("paula")
    recorded_at, nas = _last_login("paula")
    assert (recorded_at is not None, nas) == (True, "mikrotik-1")


def test_a_chap_login_is_checked_by_freeradius_and_recorded_by_post_auth(radius_server, world, calls):
    """CHAP carries no password tripleplay could check: authorize answers the cleartext password,
    FreeRADIUS's chap checks it, post-auth records an accepted login and post-auth/reject names a
    refused one."""
    world["subscriber"]("chris")
    reply = radclient(radius_server, "auth", 'User-Name = "chris", CHAP-Password = "not-it"')
    assert (reply.code, reply.attributes["Reply-Message"]) == ("Access-Reject", "wrong_password: wrong password")
    assert calls == ["authorize", "post-auth/reject"]
    assert _last_login("chris") == (None, None)
    calls.clear()
    reply = radclient(radius_server, "auth", 'User-Name = "chris", CHAP-Password = "s3cret-pw"')
    assert reply.code == "Access-Accept", reply.output
    assert reply.attributes["Mikrotik-Rate-Limit"] == "20000k/100000k"
    assert calls == ["authorize", "post-auth"]
    recorded_at, nas = _last_login("chris")
    assert (recorded_at is not None, nas) == (True, "mikrotik-1")


def test_accounting_start_interim_stop_and_retransmissions_change_nothing(radius_server, huawei_nas, world):
    account = world["subscriber"]("dave")
    huawei_nas.reset()
    login = huawei_nas.login("dave", "s3cret-pw")
    session_id = login["session"]["session_id"]
    assert login["accounting_answered"]
    session = NetworkSession.objects.get(acct_session_id=session_id)
    assert (session.nas, session.account, session.customer_id, session.status, session.framed_ip) == (
        world["huawei"], account, account.customer_id, SessionStatus.ACTIVE, login["session"]["framed_ip"])

    big = (5 << 32) + 1234  # beyond 32 bits: Acct-Input-Gigawords carries the high part
    huawei_nas.interim(session_id, input_octets=big, output_octets=7_000_000, session_time=300, retransmit=2)
    session.refresh_from_db()
    first = (session.input_octets, session.output_octets, session.session_time_seconds, session.interim_updates,
             session.updated_at)
    assert first[:4] == (big, 7_000_000, 300, 1)
    # The same interim again (a new Identifier and a larger Acct-Delay-Time, as RFC 2866 retransmits).
    huawei_nas.interim(session_id, input_octets=big, output_octets=7_000_000, session_time=300)
    session.refresh_from_db()
    assert (session.input_octets, session.output_octets, session.session_time_seconds, session.interim_updates,
            session.updated_at) == first

    assert huawei_nas.stop_session(session_id)["answered"]
    huawei_nas.interim(session_id, input_octets=big + 1, output_octets=7_000_001, session_time=301)  # late
    session.refresh_from_db()
    assert (session.status, session.terminate_cause, session.input_octets) == (SessionStatus.STOPPED, "User-Request", big)
    stopped_at = session.stopped_at

    assert huawei_nas.accounting("Accounting-On")["answered"]
    session.refresh_from_db()
    assert session.stopped_at == stopped_at  # nothing open to close


def test_accounting_on_stops_the_nas_open_sessions(radius_server, huawei_nas, world):
    world["subscriber"]("erin")
    huawei_nas.reset()
    ids = [huawei_nas.login("erin", "s3cret-pw")["session"]["session_id"] for _ in range(2)]
    assert NetworkSession.objects.filter(acct_session_id__in=ids, status=SessionStatus.ACTIVE).count() == 2
    assert huawei_nas.accounting("Accounting-On")["answered"]
    assert list(NetworkSession.objects.filter(acct_session_id__in=ids).values_list("status", "terminate_cause")) == [
        (SessionStatus.STOPPED, "NAS Accounting-On")] * 2


def test_suspension_sends_disconnect_request_and_the_session_ends(radius_server, huawei_nas, world, actor):
    account = world["subscriber"]("frank")
    services.update_nas(actor, world["huawei"], coa_port=huawei_nas.coa_port)
    huawei_nas.reset()
    session_id = huawei_nas.login("frank", "s3cret-pw")["session"]["session_id"]
    change_customer_status(actor, account.customer, "suspended", reason="overdue")
    command = NasCommand.objects.get(session__acct_session_id=session_id)
    assert (command.status, command.nas) == (CommandStatus.PENDING, world["huawei"])

    assert scheduler.run_loops([scheduler_loop('radius-disconnects')]) == 1  # what `tripleplay worker` runs on every loop
    command.refresh_from_db()
    assert command.status == CommandStatus.DONE, command.last_error
    state = huawei_nas.state()
    assert [(d["session_id"], d["username"], d["verified"], d["answer"]) for d in state["disconnects"]] == [
        (session_id, "frank", True, "ack")]
    assert state["sessions"][session_id]["status"] == "stopped"
    session = NetworkSession.objects.get(acct_session_id=session_id)  # the NAS's Accounting-Stop reached us
    assert (session.status, session.terminate_cause) == (SessionStatus.STOPPED, "Admin-Reset")
    # ... and the suspended subscriber cannot log in again.
    assert not huawei_nas.login("frank", "s3cret-pw")["accepted"]


def test_an_unanswered_disconnect_is_retried_then_dead_lettered_then_retried_by_an_operator(
        radius_server, huawei_nas, world, actor):
    account = world["subscriber"]("gina")
    services.update_nas(actor, world["huawei"], coa_port=huawei_nas.coa_port, timeout_seconds="0.3")
    huawei_nas.reset()
    session_id = huawei_nas.login("gina", "s3cret-pw")["session"]["session_id"]
    huawei_nas.set_faults(coa="drop")
    change_customer_status(actor, account.customer, "blocked", reason="fraud")
    sender = Sender(retry=RetryPolicy(base_seconds=0.01, cap_seconds=0.02, max_attempts=2))
    sender.run_once()
    command = NasCommand.objects.get(session__acct_session_id=session_id)
    assert (command.status, command.attempts) == (CommandStatus.PENDING, 1)
    assert "no answer" in command.last_error
    time.sleep(0.05)
    sender.run_once()
    command.refresh_from_db()
    assert (command.status, command.attempts) == (CommandStatus.FAILED, 2)
    assert NetworkSession.objects.get(acct_session_id=session_id).status == SessionStatus.ACTIVE

    huawei_nas.set_faults(coa="answer")
    services.retry_command(actor, command)
    sender.run_until_idle()
    command.refresh_from_db()
    assert command.status == CommandStatus.DONE
    assert NetworkSession.objects.get(acct_session_id=session_id).status == SessionStatus.STOPPED


def test_an_unknown_nas_gets_no_answer(radius_server, world):
    reply = radclient(radius_server, "auth", 'User-Name = "alice", User-Password = "x"', secret="wrong-secret-9")
    assert reply.code != "Access-Accept"


def test_a_prepaid_volume_quota_running_out_disconnects_and_a_payment_lets_the_subscriber_back(
        radius_server, huawei_nas, world, actor, internet_volume_plan):
    """Issue 14: Start, Interim-Update and Stop charge the exact volume; the funds running out sends a
    Disconnect-Request (the worker's drain) within 5 s and the session ends; a covering payment lets
    the subscriber in again. The data rate: 0.10 a MB in 100 KB blocks (0.01 a block); the funds: 0.05,
    500 KB."""
    from tripleplay.ledger.models import Funds, LedgerEntry
    from tripleplay.sessions.models import ChargingSession
    from tripleplay.sessions.selectors import with_windows

    account = world["subscriber"]("gina", funds=5, plan=internet_volume_plan)  # no free data
    services.update_nas(actor, world["huawei"], coa_port=huawei_nas.coa_port)
    huawei_nas.reset()
    session_id = huawei_nas.login("gina", "s3cret-pw")["session"]["session_id"]
    charged = ChargingSession.objects.get(client=f"nas:{world['huawei'].pk}", session_id=session_id)
    assert (charged.status, charged.account_id) == ("active", account.pk)

    # 300 KB so far: 0.03 charged, the next quota reserved from the 0.02 left (rlm_rest); or, on
    # PostgreSQL, charged inside the session's fast window by rlm_sql and held by its hold, to be
    # posted when the window closes (D280): either way the balance less what waits to be posted is 0.02.
    huawei_nas.interim(session_id, input_octets=200_000, output_octets=100_000, session_time=60)

    def balance_after_pending() -> int:
        now = with_windows([ChargingSession.objects.get(pk=charged.pk)])[0]  # the window's charges laid over (D296)
        assert now.charged_minor == 3
        return Funds.objects.get(customer_id=account.customer_id).balance_minor - (
            now.charged_minor - now.posted_minor)

    assert (balance_after_pending(), NasCommand.objects.filter(session__acct_session_id=session_id).count()) == (2, 0)
    # A retransmission of the same interim charges nothing more.
    huawei_nas.interim(session_id, input_octets=200_000, output_octets=100_000, session_time=60, retransmit=1)
    assert balance_after_pending() == 2

    started = time.monotonic()
    huawei_nas.interim(session_id, input_octets=300_000, output_octets=200_000, session_time=120)  # 500 KB: spent
    command = NasCommand.objects.get(session__acct_session_id=session_id)
    assert (command.status, command.reason) == (CommandStatus.PENDING, "Charging: quota_exhausted (insufficient_funds)")
    assert scheduler.run_loops([scheduler_loop('radius-disconnects')]) == 1  # what `tripleplay worker` runs on every loop
    state = huawei_nas.state()
    assert time.monotonic() - started < 5
    assert [(d["session_id"], d["answer"]) for d in state["disconnects"]] == [(session_id, "ack")]
    session = NetworkSession.objects.get(acct_session_id=session_id)
    charged.refresh_from_db()
    assert (session.status, session.terminate_cause, charged.status) == (SessionStatus.STOPPED, "Admin-Reset", "ended")
    funds = Funds.objects.get(customer_id=account.customer_id)
    assert (funds.balance_minor, funds.held_minor) == (0, 0)
    entries = LedgerEntry.objects.filter(customer_id=account.customer_id).order_by("id")
    assert sum(e.amount_minor for e in entries) == funds.balance_minor
    assert -sum(e.amount_minor for e in entries if e.kind == "charge") == 5

    refused = radclient(radius_server, "auth", 'User-Name = "gina", User-Password = "s3cret-pw"', secret=MIKROTIK_SECRET)
    assert (refused.code, refused.attributes.get("Reply-Message")) == (
        "Access-Reject", "no_funds: no funds left; please top up")
    record_payment(actor, account.customer, Money(100, "USD"), idempotency_key="gina-top-up")
    assert huawei_nas.login("gina", "s3cret-pw")["accepted"]
