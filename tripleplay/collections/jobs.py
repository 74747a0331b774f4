"""The collections app's periodic job (registered in tripleplay.collections.apps; see
tripleplay.core.scheduler)."""

from __future__ import annotations

from datetime import timedelta

from tripleplay.collections.services import run_collections
from tripleplay.core.actors import Actor
from tripleplay.core.scheduler import PeriodicJob


def collections() -> str:
    """Mark invoices overdue and apply the collections policy's steps."""
    report = run_collections(Actor.system("collections-job"))
    if report.failures:
        raise RuntimeError(f"{report.summary()}: {'; '.join(report.failures)[:1000]}")
    return report.summary()


JOBS = (PeriodicJob("collections", collections, default_seconds=3600, lease=timedelta(hours=1)),)
