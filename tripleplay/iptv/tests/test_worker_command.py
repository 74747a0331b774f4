"""`tripleplay worker --jobs-only` and `--no-jobs`: the two halves of the worker, so that a deployment runs
provisioning workers and one jobs worker apart (deploy/systemd, docs/operations.md)."""

from __future__ import annotations

import importlib

import pytest
from django.core.management import CommandError, call_command

from tripleplay.core.heartbeat import Heartbeat
from tripleplay.core.models import WorkerHeartbeat
from tripleplay.iptv.worker import Worker

pytestmark = pytest.mark.django_db
command = importlib.import_module("tripleplay.iptv.management.commands.worker")


@pytest.fixture
def spy(monkeypatch):
    seen = {"jobs": [], "delivered": 0, "heartbeats": []}
    monkeypatch.setattr(command, "run_due", lambda jobs, name: seen["jobs"].append((name, sorted(j.name for j in jobs))))
    original_run = Worker.run

    def run(self, **kwargs):
        seen["delivered"] += 1
        return original_run(self, **kwargs)

    monkeypatch.setattr(Worker, "run", run)
    original_stop = Heartbeat.stop

    def stop(self):
        seen["heartbeats"].append(list(WorkerHeartbeat.objects.values_list("name", "runs_jobs")))
        original_stop(self)

    monkeypatch.setattr(Heartbeat, "stop", stop)
    return seen


def test_jobs_only_runs_the_periodic_jobs_and_claims_no_provisioning(spy):
    from tripleplay.core.scheduler import worker_jobs

    call_command("worker", "--until-idle", "--jobs-only", "--name", "w-jobs")
    assert spy["delivered"] == 0
    assert spy["jobs"] == [("w-jobs", sorted(j.name for j in worker_jobs()))]
    assert spy["heartbeats"] == [[("w-jobs", True)]]


def test_no_jobs_delivers_and_runs_no_job(spy):
    call_command("worker", "--until-idle", "--no-jobs", "--name", "w-deliver", "--threads", "1")
    assert spy["delivered"] == 1
    assert spy["heartbeats"] == [[("w-deliver", False)]]
    assert all(jobs == [] for _name, jobs in spy["jobs"])


def test_the_two_halves_exclude_each_other():
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("worker", "--jobs-only", "--no-jobs")
