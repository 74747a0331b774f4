"""Issue 14, network state as desired state: a speed change reaches the NAS's open sessions as a
CoA-Request through the outbox, and the reconciliation repairs the drift between the sessions billing
believes active and the NAS's own list. End to end: Debian's FreeRADIUS, the NAS simulator (its own
process, real UDP), the worker's drain."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tripleplay.core import scheduler
from tripleplay.customers.services import change_customer_status, change_main_product
from tripleplay.radius import reconcile, services
from tripleplay.radius.coa import Sender
from tripleplay.radius.models import CommandKind, CommandStatus, NasCommand, NetworkSession, SessionStatus
from tripleplay.radius.tests.conftest import HUAWEI_ADDRESS, HUAWEI_SECRET, MIKROTIK_SECRET, needs_freeradius

pytestmark = [needs_freeradius, pytest.mark.django_db(transaction=True)]
NOW = timedelta(0)  # the reconciliation's grace: none, the tests' sessions were last heard of before the read


def drain() -> int:
    """What `tripleplay worker` runs on every loop (the outbox of Disconnect- and CoA-Requests)."""
    loop = next(loop for loop in scheduler.registered_loops() if loop.name == "radius-disconnects")
    return scheduler.run_loops([loop])


def logged_in(nas_process, login: str) -> str:
    """A login through FreeRADIUS, its session id; asked again if nothing answered (a loaded machine:
    the simulator, like a NAS, waits 3 s)."""
    for _ in range(3):
        answer = nas_process.login(login, "s3cret-pw")
        if answer["answered"]:
            assert answer["accepted"], answer
            return answer["session"]["session_id"]
    raise AssertionError(f"no answer to the login of {login}")


def wait_for(predicate, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("not within the time allowed")


@pytest.fixture
def world(actor, catalog, internet_subscriber, aaa_token, huawei_nas, mikrotik_nas):
    from tripleplay.catalog.services import create_plan, create_product

    huawei = services.create_nas(actor, name="huawei-1", address=HUAWEI_ADDRESS, secret=HUAWEI_SECRET,
                                 vendor="huawei", coa_port=huawei_nas.coa_port,
                                 session_source=f"sim+http://{urlsplit(huawei_nas.url).netloc}")
    mikrotik = services.create_nas(actor, name="mikrotik-1", address="127.0.0.1", secret=MIKROTIK_SECRET,
                                   vendor="mikrotik", coa_port=mikrotik_nas.coa_port,
                                   session_source=f"sim+http://{urlsplit(mikrotik_nas.url).netloc}")
    services.set_internet_service(actor, catalog.internet, download_kbps=100_000, upload_kbps=20_000)
    fast = create_product(actor, code="fiber-500", name="Fiber 500", kind="main", currency="USD", services=["data"])
    fast_plan = create_plan(actor, fast, code="fiber-500-monthly", name="Fiber 500 monthly", periodic_fee_minor=0)
    services.set_internet_service(actor, fast, download_kbps=500_000, upload_kbps=50_000)
    huawei_nas.reset()
    mikrotik_nas.reset()
    return {"huawei": huawei, "mikrotik": mikrotik, "fast": fast, "fast_plan": fast_plan, "subscriber": internet_subscriber}


def rate(nas_process, session_id: str) -> dict:
    return nas_process.state()["sessions"][session_id]["rate"]


def test_a_main_product_change_sends_coa_and_the_nas_session_runs_at_the_new_rate(
        radius_server, huawei_nas, world, actor):
    account = world["subscriber"]("ivan")
    session_id = logged_in(huawei_nas, "ivan")
    assert rate(huawei_nas, session_id) == {"upload_kbps": 20_000, "download_kbps": 100_000}

    started = time.monotonic()
    change_main_product(actor, account, world["fast_plan"])  # the CoA is written in this transaction
    command = NasCommand.objects.get(session__acct_session_id=session_id)
    assert (command.kind, command.status, command.reason, command.attributes) == (
        CommandKind.COA, CommandStatus.PENDING, "Account/Product/Changed",
        {"Huawei-Input-Average-Rate": "50000000", "Huawei-Output-Average-Rate": "500000000"})
    assert drain() == 1
    assert wait_for(lambda: rate(huawei_nas, session_id) == {"upload_kbps": 50_000, "download_kbps": 500_000})
    assert time.monotonic() - started < 5
    command.refresh_from_db()
    assert (command.status, command.attempts, command.response["code"]) == (CommandStatus.DONE, 1, 44)  # CoA-ACK
    coa = huawei_nas.state()["disconnects"][-1]
    assert (coa["session_id"], coa["verified"], coa["answer"]) == (session_id, True, "coa-ack")
    # The session goes on (a CoA changes it, never ends it).
    assert NetworkSession.objects.get(acct_session_id=session_id).status == SessionStatus.ACTIVE


def test_an_operator_editing_a_products_rates_sends_coa_to_every_session_on_it_in_each_vendors_dictionary(
        radius_server, huawei_nas, mikrotik_nas, world, actor, catalog):
    world["subscriber"]("jane")
    world["subscriber"]("karl")
    world["subscriber"]("lena", plan=world["fast_plan"])  # another product: untouched
    on_huawei = logged_in(huawei_nas, "jane")
    on_mikrotik = logged_in(mikrotik_nas, "karl")
    other = logged_in(huawei_nas, "lena")
    services.set_internet_service(actor, catalog.internet, download_kbps=100_000, upload_kbps=20_000,
                                  address_pool="pool-x")  # same rates: no CoA
    assert not NasCommand.objects.exists()

    services.set_internet_service(actor, catalog.internet, download_kbps=200_000, upload_kbps=40_000)
    services.set_internet_service(actor, catalog.internet, download_kbps=250_000, upload_kbps=40_000)  # coalesced
    commands = {c.session.acct_session_id: c for c in NasCommand.objects.select_related("session")}
    assert set(commands) == {on_huawei, on_mikrotik}
    assert commands[on_mikrotik].attributes == {"Mikrotik-Rate-Limit": "40000k/250000k"}
    assert commands[on_huawei].attributes == {"Huawei-Input-Average-Rate": "40000000",
                                              "Huawei-Output-Average-Rate": "250000000"}
    assert drain() == 2
    assert wait_for(lambda: rate(mikrotik_nas, on_mikrotik) == {"upload_kbps": 40_000, "download_kbps": 250_000})
    assert rate(huawei_nas, on_huawei) == {"upload_kbps": 40_000, "download_kbps": 250_000}
    assert rate(huawei_nas, other) == {"upload_kbps": 50_000, "download_kbps": 500_000}
    assert mikrotik_nas.state()["sessions"][on_mikrotik]["reply"]["Mikrotik-Rate-Limit"] == ["40000k/250000k"]
    assert set(NasCommand.objects.values_list("status", flat=True)) == {CommandStatus.DONE}


def test_a_coa_for_a_session_the_nas_no_longer_has_is_done_and_a_nak_is_dead_lettered_then_retried(
        radius_server, huawei_nas, world, actor, catalog):
    world["subscriber"]("mona")
    world["subscriber"]("nils")
    gone = logged_in(huawei_nas, "mona")
    refused = logged_in(huawei_nas, "nils")
    huawei_nas.forget(gone)
    services.set_internet_service(actor, catalog.internet, download_kbps=150_000, upload_kbps=30_000)
    huawei_nas.set_faults(coa="nak")
    Sender().run_until_idle()
    by_session = {c.session.acct_session_id: c for c in NasCommand.objects.select_related("session")}
    assert (by_session[gone].status, by_session[gone].response["error_cause"]) == (CommandStatus.FAILED, 506)
    huawei_nas.set_faults(coa="answer")
    for command in by_session.values():
        services.retry_command(actor, command)
    Sender().run_until_idle()
    by_session = {c.session.acct_session_id: c for c in NasCommand.objects.select_related("session")}
    assert (by_session[gone].status, by_session[gone].response["error_cause"]) == (CommandStatus.DONE, 503)
    assert (by_session[refused].status, by_session[refused].response["code"]) == (CommandStatus.DONE, 44)
    assert rate(huawei_nas, refused) == {"upload_kbps": 30_000, "download_kbps": 150_000}


def test_a_disconnect_supersedes_a_queued_coa(radius_server, huawei_nas, world, actor, catalog):
    account = world["subscriber"]("olga")
    session_id = logged_in(huawei_nas, "olga")
    services.set_internet_service(actor, catalog.internet, download_kbps=150_000, upload_kbps=30_000)
    change_customer_status(actor, account.customer, "suspended", reason="overdue")
    assert sorted(NasCommand.objects.values_list("kind", "status")) == [
        (CommandKind.COA, CommandStatus.CANCELLED), (CommandKind.DISCONNECT, CommandStatus.PENDING)]
    assert drain() == 1
    assert [d["answer"] for d in huawei_nas.state()["disconnects"]] == ["ack"]
    assert NetworkSession.objects.get(acct_session_id=session_id).status == SessionStatus.STOPPED


def test_reconcile_closes_in_billing_a_session_the_nas_lost_charging_the_usage_last_reported(
        radius_server, huawei_nas, world, actor, internet_volume_plan):
    from tripleplay.ledger.models import Funds, LedgerEntry
    from tripleplay.sessions.models import ChargingSession
    from tripleplay.sessions.selectors import with_windows

    account = world["subscriber"]("paul", funds=100, plan=internet_volume_plan)
    session_id = logged_in(huawei_nas, "paul")
    huawei_nas.interim(session_id, input_octets=200_000, output_octets=100_000, session_time=60)  # 300 KB: 0.03
    funds = Funds.objects.get(customer_id=account.customer_id)
    # 0.03 charged: posted, or (PostgreSQL) inside the session's fast window, held and posted when the
    # session ends (D280)
    s = with_windows([ChargingSession.objects.get(customer_id=account.customer_id)])[0]  # its window laid over
    assert s.charged_minor == 3 and funds.balance_minor - (s.charged_minor - s.posted_minor) == 97
    assert funds.held_minor > 0
    huawei_nas.forget(session_id)  # gone from the NAS without an Accounting-Stop
    assert huawei_nas.sessions() == []

    assert reconcile.reconcile_nas(actor, world["huawei"], grace=NOW) == {
        "on_nas": 0, "closed": 1, "unknown": 0, "disconnect": 0, "rate": 0}
    session = NetworkSession.objects.get(acct_session_id=session_id)
    assert (session.status, session.terminate_cause, session.input_octets, session.output_octets) == (
        SessionStatus.STOPPED, "reconciled", 200_000, 100_000)
    charged = ChargingSession.objects.get(client=f"nas:{world['huawei'].pk}", session_id=session_id)
    assert charged.status == "ended"
    funds = Funds.objects.get(customer_id=account.customer_id)
    assert (funds.balance_minor, funds.held_minor) == (97, 0)  # the usage last reported; the hold released
    entries = list(LedgerEntry.objects.filter(customer_id=account.customer_id).order_by("id")
                   .values_list("kind", "amount_minor"))
    assert sum(amount for _, amount in entries) == 97
    assert -sum(amount for kind, amount in entries if kind == "charge") == 3
    assert not NasCommand.objects.exists()
    # Again: nothing left to repair, nothing charged twice.
    assert reconcile.reconcile_nas(actor, world["huawei"], grace=NOW)["closed"] == 0
    assert Funds.objects.get(customer_id=account.customer_id).balance_minor == 97


def test_reconcile_leaves_a_session_heard_of_within_the_grace(radius_server, huawei_nas, world, actor):
    world["subscriber"]("quin")
    session_id = logged_in(huawei_nas, "quin")
    huawei_nas.forget(session_id)
    assert reconcile.reconcile_nas(actor, world["huawei"])["closed"] == 0  # 60 s: a Start may be racing
    assert NetworkSession.objects.get(acct_session_id=session_id).status == SessionStatus.ACTIVE


def test_reconcile_disconnects_a_session_billing_lacks_and_one_billing_bars(
        radius_server, huawei_nas, world, actor):
    from tripleplay.ledger.models import Funds

    world["subscriber"]("rita")
    barred = world["subscriber"]("sven")
    orphan = huawei_nas.add_orphan("rita")["session_id"]  # its Accounting-Start never reached billing
    sven = logged_in(huawei_nas, "sven")
    change_customer_status(actor, barred.customer, "blocked", reason="fraud")
    lost = NasCommand.objects.get(session__acct_session_id=sven)
    services.cancel_command(actor, lost)  # the disconnect lost (an operator cancelled it)
    rita_funds = Funds.objects.get(customer__accounts__login="rita").balance_minor

    assert reconcile.reconcile_nas(actor, world["huawei"], grace=NOW) == {
        "on_nas": 2, "closed": 0, "unknown": 1, "disconnect": 1, "rate": 0}
    recorded = NetworkSession.objects.get(acct_session_id=orphan)
    assert (recorded.username, recorded.status, recorded.account.login) == ("rita", SessionStatus.ACTIVE, "rita")
    pending = sorted(NasCommand.objects.filter(status=CommandStatus.PENDING)
                     .values_list("session__acct_session_id", "kind", "reason"))
    assert pending == sorted([(orphan, CommandKind.DISCONNECT, "Reconcile: on the NAS, unknown to billing"),
                              (sven, CommandKind.DISCONNECT, "Reconcile: barred or ended in billing")])
    assert reconcile.reconcile_nas(actor, world["huawei"], grace=NOW)["disconnect"] == 1  # still queued: not twice
    assert NasCommand.objects.filter(status=CommandStatus.PENDING).count() == 2

    assert drain() == 2
    wait_for(lambda: huawei_nas.sessions() == [])
    assert sorted(NetworkSession.objects.filter(acct_session_id__in=[orphan, sven])
                  .values_list("acct_session_id", "status", "terminate_cause")) == sorted(
        [(orphan, SessionStatus.STOPPED, "Admin-Reset"), (sven, SessionStatus.STOPPED, "Admin-Reset")])
    assert Funds.objects.get(customer__accounts__login="rita").balance_minor == rita_funds  # never charged


def test_reconcile_sends_the_desired_rate_to_a_session_running_at_another(
        radius_server, huawei_nas, world, actor, catalog):
    world["subscriber"]("tina")
    session_id = logged_in(huawei_nas, "tina")
    services.set_internet_service(actor, catalog.internet, download_kbps=300_000, upload_kbps=60_000)
    services.cancel_command(actor, NasCommand.objects.get())  # the CoA lost
    assert reconcile.reconcile_nas(actor, world["huawei"], grace=NOW)["rate"] == 1
    assert drain() == 1
    assert rate(huawei_nas, session_id) == {"upload_kbps": 60_000, "download_kbps": 300_000}
    assert reconcile.reconcile_nas(actor, world["huawei"], grace=NOW)["rate"] == 0


def test_the_job_reports_each_nas_and_an_unreadable_one_changes_nothing(radius_server, huawei_nas, world, actor):
    services.update_nas(actor, world["mikrotik"], session_source="sim+http://127.0.0.1:20499")  # nothing listens
    result = reconcile.reconcile_all(grace=NOW)
    assert result.startswith("huawei-1: 0 on the NAS, closed 0, unknown 0, disconnect 0, rate 0; mikrotik-1: unreadable")
    assert scheduler.worker_jobs() and "radius-reconcile" in [j.name for j in scheduler.worker_jobs()]


def test_a_product_change_dated_for_a_later_day_is_applied_by_the_reconciliation_on_that_day(
        radius_server, huawei_nas, world, actor):
    from tripleplay import clock

    account = world["subscriber"]("uwe")
    session_id = logged_in(huawei_nas, "uwe")
    change_main_product(actor, account, world["fast_plan"], effective_date=clock.today() + timedelta(days=3))
    assert not NasCommand.objects.exists()  # the rate in force does not change today
    assert reconcile.reconcile_nas(actor, world["huawei"], grace=NOW)["rate"] == 0
    clock.freeze(clock.now() + timedelta(days=3))
    assert reconcile.reconcile_nas(actor, world["huawei"], grace=NOW)["rate"] == 1
    command = NasCommand.objects.get()
    assert (command.kind, command.reason) == (CommandKind.COA, "Reconcile: rate in force differs")
    assert drain() == 1
    assert rate(huawei_nas, session_id) == {"upload_kbps": 50_000, "download_kbps": 500_000}
