"""Periodic jobs inside `tripleplay worker`. With several workers, each job runs in one place at a
time: a worker runs a job only if its conditional UPDATE of the job's row (due and not leased)
matched. Every job is idempotent and can also be run by hand from the CLI with the same result.

Each app registers its own jobs (its ``jobs.py``, from its ``AppConfig.ready()``); the worker runs
what is registered, in registration order, which is INSTALLED_APPS order: lower layers first, so
the day's charges are posted before the invoice run and the invoice run before collections. The
interval of each is read when the worker starts, from settings.TRIPLEPLAY_JOB_INTERVALS[name]
(falling back to the job's default)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from tripleplay import clock
from tripleplay.core.models import ScheduledJob

log = logging.getLogger("tripleplay.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    run: Callable[[], str]  # returns a one-line result for the job's row and the log
    lease: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class PeriodicJob:
    """A job as an app registers it; ``worker_jobs()`` turns it into a Job with its configured interval."""

    name: str
    run: Callable[[], str]
    default_seconds: int
    lease: timedelta = timedelta(minutes=10)


_REGISTERED: dict[str, PeriodicJob] = {}


def register(*jobs: PeriodicJob) -> None:
    """Called from an AppConfig.ready(). A name belongs to one job: registering another job under a
    taken name is an error, the same job again (ready() run twice) is not."""
    for job in jobs:
        taken = _REGISTERED.get(job.name)
        if taken is not None and taken != job:
            raise ValueError(f"periodic job {job.name!r} is already registered by {taken.run.__module__}")
        _REGISTERED[job.name] = job


def registered_jobs() -> list[PeriodicJob]:
    return list(_REGISTERED.values())


def worker_jobs() -> list[Job]:
    """The jobs `tripleplay worker` runs, with their intervals from settings."""
    intervals = settings.TRIPLEPLAY_JOB_INTERVALS
    return [Job(j.name, timedelta(seconds=intervals.get(j.name, j.default_seconds)), j.run, lease=j.lease)
            for j in _REGISTERED.values()]


def _acquire(job: Job, owner: str) -> bool:
    now = clock.now()
    try:
        with transaction.atomic():
            ScheduledJob.objects.get_or_create(name=job.name)
    except IntegrityError:
        pass  # another worker created it at the same moment
    return ScheduledJob.objects.filter(name=job.name).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ).filter(Q(last_started_at__isnull=True) | Q(last_started_at__lte=now - job.interval)).update(
        owner=owner, lease_until=now + job.lease, last_started_at=now) == 1


def run_due(jobs: list[Job], owner: str) -> list[tuple[str, str]]:
    """Run every due job this worker wins; returns (name, result) for those it ran."""
    ran = []
    for job in jobs:
        if job.interval <= timedelta(0) or not _acquire(job, owner):
            continue
        started = time.monotonic()  # the duration is real time even when tests freeze the clock
        ok = True
        try:
            result = job.run()
        except Exception as e:  # a failing job must not stop the worker; it is retried next interval
            log.exception("job %s failed", job.name)
            result = f"failed: {type(e).__name__}: {e}"
            ok = False
        finished = clock.now()
        outcome = {"last_succeeded_at": finished} if ok else {}
        ScheduledJob.objects.filter(name=job.name, owner=owner).update(
            lease_until=None, last_finished_at=finished, last_result=result[:2000], last_ok=ok,
            last_duration_ms=round((time.monotonic() - started) * 1000), **outcome)
        log.info("job %s: %s", job.name, result)
        ran.append((job.name, result))
    return ran


# -- worker loops ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerLoop:
    """Outbox work that every `tripleplay worker` does between its provisioning batches, in parallel with
    the other workers (their claims share the queue), unlike a PeriodicJob, which runs in one place at a
    time and whose freshness /readyz watches. ``step`` does one bounded piece of work (a batch) and
    returns how many items it handled, keeping to a short time budget (what is left waits for the next
    step); ``close`` releases what the loop holds (threads, connections). No interval and no
    ScheduledJob row, so nothing a readiness check could call stale. The radius app's Disconnect-Requests
    and the webhooks' deliveries are such loops; every worker runs them, whatever its options."""

    name: str
    step: Callable[[], int]
    close: Callable[[], None]


_LOOPS: dict[str, WorkerLoop] = {}


def register_loop(loop: WorkerLoop) -> None:
    """Called from an AppConfig.ready(), like ``register``."""
    taken = _LOOPS.get(loop.name)
    if taken is not None and taken != loop:
        raise ValueError(f"worker loop {loop.name!r} is already registered by {taken.step.__module__}")
    _LOOPS[loop.name] = loop


def registered_loops() -> list[WorkerLoop]:
    return list(_LOOPS.values())


def run_loops(loops: list[WorkerLoop] | None = None) -> int:
    """One step of each loop (default: every registered one); a failing step is logged and does not
    stop the worker (it runs again next time). Returns the items handled."""
    done = 0
    loops = registered_loops() if loops is None else loops
    for loop in loops:
        try:
            done += loop.step()
        except Exception:
            log.exception("worker loop %s failed", loop.name)
    return done


def job_states() -> dict[str, ScheduledJob]:
    """The job rows by name (a job that has never been due has none yet)."""
    return {job.name: job for job in ScheduledJob.objects.all()}
