"""The subscriptions app's periodic job (registered in tripleplay.subscriptions.apps; see
tripleplay.core.scheduler)."""

from __future__ import annotations

from datetime import timedelta

from tripleplay.core.actors import Actor
from tripleplay.core.scheduler import PeriodicJob
from tripleplay.subscriptions.services import charge_all


def charge_subscriptions() -> str:
    """Recurring charges up to today (docs/charging.md); idempotent."""
    report = charge_all(Actor.system("charge-job"))
    if report.failures:  # the scheduler records it as failed; the next interval retries
        raise RuntimeError(f"{report.summary()}: {'; '.join(report.failures)[:1000]}")
    return report.summary()


JOBS = (PeriodicJob("charge", charge_subscriptions, default_seconds=3600, lease=timedelta(hours=1)),)
