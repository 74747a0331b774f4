"""/healthz (liveness) and /readyz (readiness): 200 with every check, 503 naming the failed one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from tripleplay import clock
from tripleplay.core.heartbeat import Heartbeat
from tripleplay.core.models import ScheduledJob, WorkerHeartbeat
from tripleplay.core.scheduler import Job, run_due, worker_jobs

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def ready_settings(settings):
    settings.TRIPLEPLAY_WORKER_HEARTBEAT_STALE_SECONDS = 60
    settings.TRIPLEPLAY_READY_JOB_STALE_INTERVALS = 3
    return settings


def _all_jobs_succeeded_at(at: datetime) -> None:
    for job in worker_jobs():
        ScheduledJob.objects.update_or_create(name=job.name, defaults={"last_succeeded_at": at, "last_ok": True})


def test_healthz_is_liveness_only(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_ready_with_a_fresh_heartbeat_and_fresh_jobs(client, db, ready_settings):
    clock.freeze(T0)
    Heartbeat("host:1:a", runs_jobs=True).start()
    _all_jobs_succeeded_at(T0 - timedelta(seconds=30))
    clock.freeze(T0 + timedelta(seconds=20))
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["migrations"] == {"ok": True}
    assert body["checks"]["worker"] == {"ok": True, "newest_age_seconds": 20.0, "stale_after_seconds": 60,
                                        "workers_alive": 1}
    assert body["checks"]["jobs"] == {"ok": True, "stale": [], "never_succeeded": [], "stale_after_intervals": 3}


def test_unready_when_the_heartbeat_stops(client, db, ready_settings):
    clock.freeze(T0)
    _all_jobs_succeeded_at(T0)
    heartbeat = Heartbeat("host:1:a", runs_jobs=True, every_seconds=0)
    heartbeat.start()
    clock.freeze(T0 + timedelta(seconds=59))
    heartbeat.beat()
    clock.freeze(T0 + timedelta(seconds=59 + 60))
    assert client.get("/readyz").status_code == 200  # exactly at the limit: still fresh
    clock.freeze(T0 + timedelta(seconds=59 + 61))  # the worker died a minute and a second ago
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unready" and body["failed"] == ["worker"]
    assert body["checks"]["worker"]["newest_age_seconds"] == 61.0
    assert body["checks"]["worker"]["workers_alive"] == 0


def test_unready_without_any_worker_and_ready_when_the_check_is_off(client, db, ready_settings):
    assert client.get("/readyz").json()["failed"] == ["worker"]
    ready_settings.TRIPLEPLAY_WORKER_HEARTBEAT_STALE_SECONDS = 0
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == {"ok": True, "checked": False}


def test_a_cleanly_stopped_worker_removes_its_heartbeat(db):
    heartbeat = Heartbeat("host:1:a", runs_jobs=True)
    heartbeat.start()
    heartbeat.stop()
    assert not WorkerHeartbeat.objects.exists()


def test_a_stale_job_makes_it_unready(client, db, ready_settings):
    clock.freeze(T0)
    _all_jobs_succeeded_at(T0)
    clock.freeze(T0 + timedelta(minutes=3, seconds=1))  # expire-holds, sweep-sessions, low-balance: every minute
    Heartbeat("host:1:a", runs_jobs=True).start()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["jobs"]
    assert body["checks"]["jobs"]["stale"] == ["expire-holds", "sweep-sessions", "low-balance"]
    ready_settings.TRIPLEPLAY_READY_JOB_STALE_INTERVALS = 0  # reported only
    assert client.get("/readyz").status_code == 200


def test_a_failing_job_keeps_its_last_success_and_turns_stale(client, db, ready_settings):
    clock.freeze(T0)
    _all_jobs_succeeded_at(T0)
    ScheduledJob.objects.filter(name="expire-holds").delete()

    def down():
        raise RuntimeError("database function missing")

    assert run_due([Job("expire-holds", timedelta(minutes=1), lambda: "ok")], "w1") == [("expire-holds", "ok")]
    for _minute in range(4):
        clock.advance(timedelta(minutes=1))
        run_due([Job("expire-holds", timedelta(minutes=1), down)], "w1")
    row = ScheduledJob.objects.get(name="expire-holds")
    assert (row.last_succeeded_at, row.last_ok, row.last_finished_at) == (T0, False, T0 + timedelta(minutes=4))
    Heartbeat("host:1:a", runs_jobs=True).start()
    # sweep-sessions and low-balance, also every minute, have not run since T0 either
    assert client.get("/readyz").json()["checks"]["jobs"]["stale"] == ["expire-holds", "sweep-sessions", "low-balance"]


def test_a_job_that_never_succeeded_is_listed_not_stale(client, db, ready_settings):
    clock.freeze(T0)
    Heartbeat("host:1:a", runs_jobs=True).start()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["jobs"]["never_succeeded"] == [job.name for job in worker_jobs()
                                                                     if job.interval.total_seconds() > 0]


def test_unready_with_an_unapplied_migration(client, db, ready_settings):
    clock.freeze(T0)
    _all_jobs_succeeded_at(T0)
    Heartbeat("host:1:a", runs_jobs=True).start()
    # core's latest migration (a leaf: the check plans up to the leaves)
    [(_app, latest)] = MigrationLoader(connection).graph.leaf_nodes("core")
    MigrationRecorder.Migration.objects.filter(app="core", name=latest).delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["migrations"]
    assert response.json()["checks"]["migrations"] == {"ok": False, "unapplied": [f"core.{latest}"]}


def test_unready_when_the_database_does_not_answer(client, db, ready_settings, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def refuse(self, sql, params=None):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    monkeypatch.undo()  # the test database's teardown needs its cursor back
    body = response.json()
    assert body["failed"] == ["database", "migrations", "worker", "jobs"]
    assert body["checks"]["database"]["error"] == "OperationalError"


def test_the_worker_command_beats_and_removes_its_row_when_it_stops(db, monkeypatch):
    from django.core.management import call_command

    seen = []
    original = Heartbeat.stop

    def stop(self):
        seen.append(list(WorkerHeartbeat.objects.values_list("name", "runs_jobs")))
        original(self)

    monkeypatch.setattr(Heartbeat, "stop", stop)
    call_command("worker", "--until-idle", "--no-jobs", "--name", "w-test", "--threads", "1")
    assert seen == [[("w-test", False)]]
    assert not WorkerHeartbeat.objects.exists()
