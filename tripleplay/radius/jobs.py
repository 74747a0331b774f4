"""The radius app's periodic jobs (registered in tripleplay.radius.apps)."""

from __future__ import annotations

from datetime import timedelta

from tripleplay.core.scheduler import PeriodicJob
from tripleplay.radius.coa import Sender


def send_disconnects() -> str:
    # A short budget: the job runs between the provisioning worker's batches. What is left is sent at
    # the next run (every 2 s by default; TRIPLEPLAY_JOB_RADIUS_DISCONNECTS_SECONDS).
    return f"{Sender().run_until_idle(max_seconds=3)} disconnect commands sent"


JOBS = (PeriodicJob("radius-disconnects", send_disconnects, default_seconds=2, lease=timedelta(minutes=2)),)
