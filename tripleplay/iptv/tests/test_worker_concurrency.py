"""Several workers drain one outbox on PostgreSQL (SELECT ... FOR UPDATE SKIP LOCKED): the work is
shared, and no subscriber is ever processed by two workers at the same time."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from tripleplay.customers.services import add_addon, create_account
from tripleplay.iptv.models import CommandStatus, ProvisioningCommand, ProvisioningStatus, Subscriber
from tripleplay.iptv.tests.conftest import make_platform, make_tv_catalog
from tripleplay.iptv.worker import Worker
from tripleplay.simulators.testing import running_simulator

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_four_workers_share_the_queue_and_never_overlap(actor, make_customer, monkeypatch):
    intervals: list[tuple[int, str, float, float]] = []
    lock = threading.Lock()
    original = Worker.process

    def timed(self, sub):
        start = time.monotonic()
        try:
            return original(self, sub)
        finally:
            with lock:
                intervals.append((getattr(sub, "pk", sub), self.name, start, time.monotonic()))

    monkeypatch.setattr(Worker, "process", timed)
    with running_simulator("matrixstream") as sim:
        sim.set_faults(latency_ms=15)  # calls take time, so workers really run side by side
        cat = make_tv_catalog(actor, make_platform(actor, sim))
        accounts = [create_account(actor, make_customer(), main_plan=cat.tv_plan) for _ in range(60)]
        for a in accounts[::2]:
            add_addon(actor, a, cat.sports_plan)
        workers = [Worker(name=f"w{i}", threads=2, batch_size=4, poll_seconds=0.05) for i in range(4)]
        def run(worker):
            try:
                worker.run(until_idle=True, max_seconds=60)
            finally:
                connection.close()  # this thread's own connection

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        connection.close()
        subs = sim.subscribers()

    assert all(not t.is_alive() for t in threads)
    by_sub: dict[int, list] = {}
    for sid, name, start, end in intervals:
        by_sub.setdefault(sid, []).append((start, end, name))
    for sid, spans in by_sub.items():
        spans.sort()
        for (_, e1, n1), (s2, _, n2) in zip(spans, spans[1:], strict=False):
            assert s2 >= e1, f"subscriber {sid} processed by {n1} and {n2} at the same time"
    assert sum(1 for w in workers if w.processed) >= 2, [w.processed for w in workers]  # really shared
    assert set(ProvisioningCommand.objects.values_list("status", flat=True)) <= {
        CommandStatus.DONE, CommandStatus.SUPERSEDED}
    assert set(Subscriber.objects.values_list("status", flat=True)) == {ProvisioningStatus.OK}
    assert all(c.attempts == 1 for c in ProvisioningCommand.objects.filter(status=CommandStatus.DONE))
    assert len(subs) == 60
    assert sorted(subs[f"tp-{a.pk}"]["packages"] for a in accounts[::2]) == [["basic", "sports"]] * 30
