"""Periodic jobs: due jobs run once per interval, in one place at a time, and a failing job does not
stop the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tripleplay import clock
from tripleplay.core.models import ScheduledJob
from tripleplay.core.scheduler import Job, _acquire, run_due

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def calls():
    return []


def test_a_job_runs_once_per_interval(db, calls):
    clock.freeze(T0)
    job = Job("tick", timedelta(minutes=5), lambda: calls.append(clock.now()) or "ticked")
    assert run_due([job], "w1") == [("tick", "ticked")]
    assert run_due([job], "w1") == []  # not due again yet
    assert run_due([job], "w2") == []  # nor for another worker
    clock.advance(timedelta(minutes=5))
    assert run_due([job], "w2") == [("tick", "ticked")]
    assert calls == [T0, T0 + timedelta(minutes=5)]
    row = ScheduledJob.objects.get(name="tick")
    assert (row.owner, row.lease_until, row.last_result) == ("w2", None, "ticked")


def test_a_running_job_is_not_started_elsewhere(db):
    clock.freeze(T0)
    job = Job("long", timedelta(seconds=1), lambda: "done", lease=timedelta(minutes=10))
    assert _acquire(job, "w1") is True  # w1 runs it (and has not finished)
    clock.advance(timedelta(minutes=2))
    assert _acquire(job, "w2") is False  # due by interval, but leased by w1
    clock.advance(timedelta(minutes=9))
    assert _acquire(job, "w2") is True  # w1's lease expired: it died


def test_a_failing_job_is_recorded_and_the_others_still_run(db):
    clock.freeze(T0)

    def boom():
        raise RuntimeError("platform down")

    ran = run_due([Job("bad", timedelta(minutes=1), boom), Job("good", timedelta(minutes=1), lambda: "ok")], "w1")
    assert ran == [("bad", "failed: RuntimeError: platform down"), ("good", "ok")]
    assert ScheduledJob.objects.get(name="bad").lease_until is None


def test_an_interval_of_zero_turns_a_job_off(db):
    assert run_due([Job("off", timedelta(0), lambda: "never")], "w1") == []
    assert not ScheduledJob.objects.filter(name="off").exists()
