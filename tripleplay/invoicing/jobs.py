"""The invoicing app's periodic jobs (registered in tripleplay.invoicing.apps; see
tripleplay.core.scheduler)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from tripleplay.core.actors import Actor
from tripleplay.core.scheduler import PeriodicJob
from tripleplay.invoicing.documents import store_pending
from tripleplay.invoicing.services import run_invoices


def invoice_run() -> str:
    """Close the billing periods due today (docs/invoicing.md); idempotent. On PostgreSQL in
    ``TRIPLEPLAY_INVOICE_RUN_THREADS`` batch loops (default 2, D263; SQLite: one)."""
    report = run_invoices(Actor.system("invoice-run-job"), threads=max(1, settings.TRIPLEPLAY_INVOICE_RUN_THREADS))
    if report.failures:
        raise RuntimeError(f"{report.summary()}: {'; '.join(report.failures)[:1000]}")
    return report.summary()


def invoice_documents() -> str:
    """Render and store the PDFs of invoices issued without one (their e-mails wait for them, D200)."""
    return f"rendered {store_pending()} PDFs"


JOBS = (
    PeriodicJob("invoice-run", invoice_run, default_seconds=3600, lease=timedelta(hours=2)),
    PeriodicJob("invoice-documents", invoice_documents, default_seconds=300, lease=timedelta(hours=1)),
)
