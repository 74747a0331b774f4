"""The promotions app's periodic job (registered in tripleplay.promotions.apps)."""

from __future__ import annotations

from datetime import timedelta

from tripleplay.core.actors import Actor
from tripleplay.core.scheduler import PeriodicJob
from tripleplay.promotions.services import close_trials, remind_trials


def run_trials() -> str:
    """Reminders of trials ending soon, and the end of trials without conversion; idempotent."""
    actor = Actor.system("trials-job")
    return f"{remind_trials(actor)} trial reminders, {close_trials(actor)} trials ended"


JOBS = (PeriodicJob("trials", run_trials, default_seconds=3600, lease=timedelta(minutes=30)),)
