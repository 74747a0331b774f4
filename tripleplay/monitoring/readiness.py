"""/readyz's checks. Ready means: the database answers, every migration is applied, a worker wrote
its heartbeat recently, and no periodic job has gone without success for too many intervals
(docs/operations.md, Monitor; D71). Each check is a small dict with "ok"; the failing ones
are named in the answer."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from tripleplay import clock
from tripleplay.core.heartbeat import workers_seen
from tripleplay.core.scheduler import job_states, worker_jobs

# Once a process has seen every migration applied it stops asking: loading the migration graph costs
# tens of milliseconds, and new migrations arrive only with new code, which means a restart.
migrations_seen_applied = False


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, dict]

    @property
    def failed(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check["ok"]]


def _database() -> dict:
    db = connections[DEFAULT_DB_ALIAS]
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as e:  # noqa: BLE001 - any failure to answer is "not ready"
        return {"ok": False, "vendor": db.vendor, "error": type(e).__name__}
    return {"ok": True, "vendor": db.vendor}


def _migrations() -> dict:
    global migrations_seen_applied
    if migrations_seen_applied:
        return {"ok": True}
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    unapplied = [f"{m.app_label}.{m.name}" for m, _backwards in executor.migration_plan(executor.loader.graph.leaf_nodes())]
    if unapplied:
        return {"ok": False, "unapplied": unapplied}
    migrations_seen_applied = True
    return {"ok": True}


def running_a_job(now) -> set[str]:
    """Workers inside a job run: they beat only between runs, and a job's lease is its own sign of
    life (it lapses if the worker dies), so a long invoice run does not make them look dead."""
    return {s.owner for s in job_states().values() if s.owner and s.lease_until is not None and s.lease_until > now}


def _worker() -> dict:
    stale = settings.TRIPLEPLAY_WORKER_HEARTBEAT_STALE_SECONDS
    if stale <= 0:
        return {"ok": True, "checked": False}
    seen = workers_seen()
    if not seen:
        return {"ok": False, "error": "no worker heartbeat: is `tripleplay worker` running?"}
    now = clock.now()
    busy = running_a_job(now)
    age = max(0.0, (now - seen[0].seen_at).total_seconds())
    alive = sum(1 for w in seen if (now - w.seen_at).total_seconds() <= stale or w.name in busy)
    check = {"ok": alive > 0, "newest_age_seconds": round(age, 1), "stale_after_seconds": stale,
             "workers_alive": alive}
    if not alive:
        check["error"] = "no worker heartbeat within the stale limit"
    return check


def _jobs() -> dict:
    """A job is stale when its last success is older than TRIPLEPLAY_READY_JOB_STALE_INTERVALS of its
    intervals. A job that has never succeeded is listed, never stale: on a new installation (or just
    after this field was added) it has had no chance yet, and its failures show in /metrics."""
    limit = settings.TRIPLEPLAY_READY_JOB_STALE_INTERVALS
    now = clock.now()
    states = job_states()
    stale, never = [], []
    for job in worker_jobs():
        if job.interval.total_seconds() <= 0:
            continue
        state = states.get(job.name)
        if state is None or state.last_succeeded_at is None:
            never.append(job.name)
        elif limit > 0 and now - state.last_succeeded_at > job.interval * limit:
            stale.append(job.name)
    check = {"ok": not stale, "stale": stale, "never_succeeded": never, "stale_after_intervals": limit}
    if stale:
        check["error"] = "a periodic job has not succeeded within its stale limit"
    return check


def readiness() -> Readiness:
    checks = {"database": _database()}
    if not checks["database"]["ok"]:
        skipped = {"ok": False, "error": "not checked: the database does not answer"}
        checks.update(migrations=skipped, worker=skipped, jobs=skipped)
    else:
        checks.update(migrations=_migrations(), worker=_worker(), jobs=_jobs())
    return Readiness(all(c["ok"] for c in checks.values()), checks)
