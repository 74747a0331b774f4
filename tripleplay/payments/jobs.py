"""The payments app's periodic job (registered in tripleplay.payments.apps)."""

from __future__ import annotations

from datetime import timedelta

from tripleplay.core.actors import Actor
from tripleplay.core.scheduler import PeriodicJob
from tripleplay.payments.services import retry_pending_refunds, run_autopay


def autopay() -> str:
    """Charge due invoices of auto-pay customers (with retries) and send refunds left pending."""
    actor = Actor.system("autopay-job")
    report = run_autopay(actor)
    resent = retry_pending_refunds(actor)
    if report.failures:
        raise RuntimeError(f"{report.summary()}: {'; '.join(report.failures)[:1000]}")
    return f"{report.summary()}; {resent} pending refunds sent again"


JOBS = (PeriodicJob("autopay", autopay, default_seconds=3600, lease=timedelta(hours=1)),)
