"""Worker heartbeats: every `tripleplay worker` loop touches its row (at most every few seconds), so
that /readyz and /metrics can tell a running worker from a dead or wedged one (docs/operations.md)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from tripleplay import clock
from tripleplay.core.models import WorkerHeartbeat

FORGET_AFTER = timedelta(days=1)  # a stopped worker's row is removed when a worker next starts


class Heartbeat:
    """The heartbeat of one worker process; ``beat()`` is called every loop and writes at most every
    ``every_seconds`` (an idle worker loops twice a second: one write per loop would be 7 000 a hour)."""

    def __init__(self, name: str, *, runs_jobs: bool, every_seconds: float = 5.0):
        self.name = name
        self.runs_jobs = runs_jobs
        self.every_seconds = every_seconds
        self.started_at = clock.now()
        self._last_write: float | None = None

    def start(self) -> None:
        WorkerHeartbeat.objects.filter(seen_at__lt=self.started_at - FORGET_AFTER).delete()
        self.beat()

    def beat(self) -> None:
        now = time.monotonic()
        if self._last_write is not None and now - self._last_write < self.every_seconds:
            return
        seen = clock.now()
        if not WorkerHeartbeat.objects.filter(name=self.name).update(seen_at=seen):  # one UPDATE a beat
            WorkerHeartbeat.objects.create(name=self.name, seen_at=seen, started_at=self.started_at,
                                           runs_jobs=self.runs_jobs)
        self._last_write = now

    def stop(self) -> None:
        """A worker that stops cleanly removes its row: only dead workers leave stale ones."""
        WorkerHeartbeat.objects.filter(name=self.name).delete()


@dataclass(frozen=True)
class WorkerSeen:
    name: str
    seen_at: datetime
    runs_jobs: bool


def workers_seen() -> list[WorkerSeen]:
    """Every worker that has beaten within the last day, newest first."""
    return [WorkerSeen(w.name, w.seen_at, w.runs_jobs)
            for w in WorkerHeartbeat.objects.order_by("-seen_at", "name")]
