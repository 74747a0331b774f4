"""The radius app's periodic jobs (registered in tripleplay.radius.apps)."""

from __future__ import annotations

from datetime import timedelta

from tripleplay.core.scheduler import PeriodicJob
from tripleplay.radius.coa import Sender


def send_disconnects() -> str:
    return f"{Sender().run_until_idle()} disconnect commands sent"


JOBS = (PeriodicJob("radius-disconnects", send_disconnects, default_seconds=1, lease=timedelta(minutes=2)),)
