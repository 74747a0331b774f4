"""/metrics: the database gauges for a known state, exactly; the PPV counters after known calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from prometheus_client.utils import floatToGoString

from tripleplay import clock
from tripleplay.core.errors import InvalidInput
from tripleplay.core.heartbeat import Heartbeat
from tripleplay.core.models import ScheduledJob
from tripleplay.core.scheduler import worker_jobs
from tripleplay.customers.models import Account
from tripleplay.invoicing.models import BillingSchedule
from tripleplay.iptv.models import Platform, ProvisioningCommand, Subscriber
from tripleplay.ppv import services as ppv

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _lines(body: str, metric: str) -> list[str]:
    return sorted(line for line in body.splitlines() if line.startswith(metric + "{") or line.startswith(metric + " "))


def _scrape(client, **headers) -> str:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.fixture
def queue(make_customer):
    """Platform alpha: 2 pending (oldest 90 s old), 1 done, 1 failed; platform beta: 1 pending (30 s old)."""
    clock.freeze(T0)
    customer = make_customer()
    account = Account.objects.create(customer=customer, status_changed_at=T0, created_at=T0)
    rows = {"alpha": [("pending", 90), ("pending", 10), ("done", 300), ("failed", 200)], "beta": [("pending", 30)]}
    n = 0
    for code, commands in rows.items():
        platform = Platform.objects.create(code=code, name=code, kind="generic_xml", base_url="http://127.0.0.1:9",
                                           created_at=T0)
        subscriber = Subscriber.objects.create(account=account, platform=platform, external_id=f"s-{code}",
                                               updated_at=T0)
        for status, age in commands:
            n += 1
            ProvisioningCommand.objects.create(subscriber=subscriber, event="Account/New", desired={}, status=status,
                                               idempotency_key=f"k{n}", created_at=T0 - timedelta(seconds=age),
                                               updated_at=T0 - timedelta(seconds=age))
    return customer


def test_provisioning_queue_by_platform_and_status(db, client, queue):
    body = _scrape(client)
    assert _lines(body, "tripleplay_provisioning_commands") == [
        'tripleplay_provisioning_commands{platform="alpha",status="done"} 1.0',
        'tripleplay_provisioning_commands{platform="alpha",status="failed"} 1.0',
        'tripleplay_provisioning_commands{platform="alpha",status="pending"} 2.0',
        'tripleplay_provisioning_commands{platform="beta",status="pending"} 1.0',
    ]
    assert _lines(body, "tripleplay_provisioning_oldest_pending_age_seconds") == [
        'tripleplay_provisioning_oldest_pending_age_seconds{platform="alpha"} 90.0',
        'tripleplay_provisioning_oldest_pending_age_seconds{platform="beta"} 30.0',
    ]
    assert _lines(body, "tripleplay_database_up") == ["tripleplay_database_up 1.0"]
    assert "s-alpha" not in body and queue.name not in body  # no subscriber or customer in any label


def test_job_rows(db, client):
    clock.freeze(T0)
    ScheduledJob.objects.create(name="charge", last_started_at=T0 - timedelta(minutes=30),
                                last_finished_at=T0 - timedelta(minutes=29), last_succeeded_at=T0 - timedelta(minutes=29),
                                last_duration_ms=61_500, last_ok=True, last_result="charged 3")
    ScheduledJob.objects.create(name="reconcile", last_started_at=T0 - timedelta(hours=1), owner="w1",
                                last_finished_at=T0 - timedelta(hours=1), last_succeeded_at=T0 - timedelta(days=2),
                                last_duration_ms=250, last_ok=False, last_result="failed: OSError: down")
    ScheduledJob.objects.create(name="expire-holds", owner="w1", lease_until=T0 + timedelta(minutes=5),
                                last_started_at=T0)
    body = _scrape(client)
    assert _lines(body, "tripleplay_job_last_success_timestamp_seconds") == [  # Unix times in the Go format
        'tripleplay_job_last_success_timestamp_seconds{job="charge"} 1.77314226e+09',  # T0 - 29 min
        'tripleplay_job_last_success_timestamp_seconds{job="reconcile"} 1.7729712e+09',  # T0 - 2 days
    ]
    assert _lines(body, "tripleplay_job_last_duration_seconds") == [
        'tripleplay_job_last_duration_seconds{job="charge"} 61.5',
        'tripleplay_job_last_duration_seconds{job="reconcile"} 0.25',
    ]
    assert _lines(body, "tripleplay_job_last_result_ok") == [
        'tripleplay_job_last_result_ok{job="charge"} 1.0',
        'tripleplay_job_last_result_ok{job="reconcile"} 0.0',
    ]
    assert _lines(body, "tripleplay_job_running") == [
        'tripleplay_job_running{job="charge"} 0.0',
        'tripleplay_job_running{job="expire-holds"} 1.0',
        'tripleplay_job_running{job="reconcile"} 0.0',
    ]
    assert _lines(body, "tripleplay_job_interval_seconds") == sorted(
        f'tripleplay_job_interval_seconds{{job="{job.name}"}} {floatToGoString(job.interval.total_seconds())}'
        for job in worker_jobs())


def test_a_job_run_by_the_worker_is_scraped(db, client):
    """A real run through the scheduler writes what /metrics reads."""
    from tripleplay.core.scheduler import Job, run_due

    clock.freeze(T0)
    run_due([Job("charge", timedelta(hours=1), lambda: "ok")], "w1")
    body = _scrape(client)
    assert 'tripleplay_job_last_success_timestamp_seconds{job="charge"} 1.773144e+09' in body  # T0
    assert 'tripleplay_job_last_result_ok{job="charge"} 1.0' in body
    assert 'tripleplay_job_running{job="charge"} 0.0' in body


def test_worker_heartbeats(db, client, settings):
    settings.TRIPLEPLAY_WORKER_HEARTBEAT_STALE_SECONDS = 60
    clock.freeze(T0)
    Heartbeat("host:1:a", runs_jobs=True).start()
    clock.freeze(T0 + timedelta(seconds=30))
    Heartbeat("host:2:b", runs_jobs=False).start()
    clock.freeze(T0 + timedelta(seconds=75))
    body = _scrape(client)
    assert _lines(body, "tripleplay_worker_heartbeat_age_seconds") == [
        'tripleplay_worker_heartbeat_age_seconds{worker="host:1:a"} 75.0',
        'tripleplay_worker_heartbeat_age_seconds{worker="host:2:b"} 45.0',
    ]
    assert _lines(body, "tripleplay_workers_alive") == ["tripleplay_workers_alive 1.0"]


def test_invoice_run_progress(db, client, make_customer):
    clock.freeze(T0)  # today is 2026-03-10
    for end in (date(2026, 3, 1), date(2026, 3, 10), date(2026, 3, 8), date(2026, 4, 1)):
        BillingSchedule.objects.create(customer=make_customer(), next_period_start=end - timedelta(days=28),
                                       next_period_end=end)
    body = _scrape(client)
    assert _lines(body, "tripleplay_invoice_periods_due") == ["tripleplay_invoice_periods_due 3.0"]
    assert _lines(body, "tripleplay_invoice_oldest_due_period_age_seconds") == [
        f"tripleplay_invoice_oldest_due_period_age_seconds {9 * 86400:.1f}"]
    assert _lines(body, "tripleplay_invoice_periods_closed_today") == ["tripleplay_invoice_periods_closed_today 0.0"]


def _count(call: str, result: str) -> float:
    return REGISTRY.get_sample_value("tripleplay_ppv_decisions_total", {"call": call, "result": result}) or 0.0


def _observed(call: str) -> float:
    return REGISTRY.get_sample_value("tripleplay_ppv_decision_seconds_count", {"call": call}) or 0.0


def test_ppv_decisions_by_result(db, client):
    """The counters are this process's: the test reads their change across known calls."""
    platform = Platform.objects.create(code="tv", name="tv", kind="generic_xml", base_url="http://127.0.0.1:9",
                                           created_at=T0)
    before = {key: _count(*key) for key in [("authorize", "declined"), ("authorize", "error"), ("purchase", "declined")]}
    observed = _observed("authorize"), _observed("purchase")
    answer = ppv.authorize(platform, transaction_id="t1", subscriber="nobody", price_minor=100)
    assert answer["result"] == "declined"
    with pytest.raises(InvalidInput):
        ppv.authorize(platform, transaction_id="t2", subscriber="nobody")
    assert ppv.purchase(platform, transaction_id="t3", subscriber="nobody", price_minor=100)["result"] == "declined"
    assert {key: _count(*key) - n for key, n in before.items()} == {
        ("authorize", "declined"): 1, ("authorize", "error"): 1, ("purchase", "declined"): 1}
    # A purchase counts once, as a purchase, not also as its inner authorize.
    assert (_observed("authorize") - observed[0], _observed("purchase") - observed[1]) == (2, 1)
    body = _scrape(client)
    declined = _count("authorize", "declined")
    assert f'tripleplay_ppv_decisions_total{{call="authorize",result="declined"}} {floatToGoString(declined)}' in body
    assert 'tripleplay_ppv_decision_seconds_bucket{call="authorize",le="+Inf"}' in body


def test_metrics_token(db, client, settings):
    settings.TRIPLEPLAY_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert "tripleplay_database_up 1.0" in _scrape(client, HTTP_AUTHORIZATION="Bearer s3cret")
