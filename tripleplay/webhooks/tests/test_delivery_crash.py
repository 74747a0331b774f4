"""The issue's proof: a receiver that fails 30 % of the time, and webhook workers (separate processes)
killed with SIGKILL mid-run. No event is lost; a message arrives more than once only with the same
webhook-id (which the Standard Webhooks specification allows: receivers de-duplicate by it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.db import connection

from tripleplay.customers.services import change_customer_status
from tripleplay.ledger.services import record_payment
from tripleplay.money import Money
from tripleplay.webhooks.models import Delivery, DeliveryStatus, Event
from tripleplay.webhooks.services import update_endpoint

CUSTOMERS = 40  # two events each: 80 messages


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(name: str, log) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url()}
    return subprocess.Popen(
        [sys.executable, "-m", "tripleplay.cli", "webhook-worker", "--name", name, "--threads", "4", "--batch-size", "8",
         "--lease-seconds", "3", "--poll-seconds", "0.05", "--retry-base-seconds", "0.05", "--retry-cap-seconds",
         "0.3", "--max-attempts", "60"], env=env, stdout=log, stderr=subprocess.STDOUT)


def pending() -> int:
    return Delivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).count()


@pytest.mark.parametrize("workers", [1, pytest.param(3, marks=pytest.mark.postgres)])
def test_flaky_receiver_and_killed_workers_lose_nothing(transactional_db, actor, make_customer, endpoint, receiver,
                                                         tmp_path, workers):
    made = endpoint()
    r = receiver(made.secret, fail_rate=0.3, seed=11)
    # A 1 s timeout: a worker sends only while its 3 s lease has more than the timeout left.
    update_endpoint(actor, made.endpoint, url=r.url, timeout_seconds=1)
    for i in range(CUSTOMERS):
        c = make_customer()
        record_payment(actor, c, Money(100 + i, "USD"), idempotency_key=f"pay-{i}")
        change_customer_status(actor, c, "suspended", reason=f"test {i}")
    events = {e.uid: e for e in Event.objects.all()}
    assert len(events) == 2 * CUSTOMERS
    log = open(tmp_path / "workers.log", "ab")  # noqa: SIM115
    procs = [start_worker(f"w{i}", log) for i in range(workers)]
    try:
        # Kill every worker (SIGKILL: no cleanup) once some messages got through, twice over.
        for round_ in range(2):
            deadline = time.monotonic() + 60
            target = 15 * (round_ + 1)
            while sum(q["status"] == 204 for q in r.requests()) < target and time.monotonic() < deadline:
                time.sleep(0.02)
            for p in procs:
                p.send_signal(signal.SIGKILL)
                p.wait(10)
            assert pending() > 0, "the kill came too late to prove anything"
            procs = [start_worker(f"w{round_}-{i}", log) for i in range(workers)]
        deadline = time.monotonic() + 120
        while pending() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(20)
        log.close()
    assert pending() == 0, (tmp_path / "workers.log").read_text()[-3000:]
    requests = r.requests()
    # Every complete request is signed correctly (a worker killed while sending leaves a short body behind).
    assert [q.get("error") for q in requests if q["verified"] is False] == []
    assert all(q["error"].startswith("incomplete body") for q in requests if q["verified"] is None)
    requests = [q for q in requests if q["verified"]]
    assert {q["status"] for q in requests} == {204, 500}  # the receiver did fail
    accepted = Counter(q["id"] for q in requests if q["status"] == 204)
    assert set(accepted) == set(events)  # none lost
    for q in requests:  # a repeated message is the same message: same id, same type and payload
        assert (q["type"], q["data"]) == (events[q["id"]].type, events[q["id"]].payload)
    assert sum(1 for q in requests if q["status"] == 500) >= 10
