"""The invoicing app's periodic jobs (registered in tripleplay.invoicing.apps; see
tripleplay.core.scheduler)."""

from __future__ import annotations

from datetime import timedelta

from tripleplay.core.actors import Actor
from tripleplay.core.scheduler import PeriodicJob
from tripleplay.invoicing.notifications import deliver_documents
from tripleplay.invoicing.services import run_invoices


def invoice_run() -> str:
    """Close the billing periods due today (docs/invoicing.md); idempotent."""
    report = run_invoices(Actor.system("invoice-run-job"))
    if report.failures:
        raise RuntimeError(f"{report.summary()}: {'; '.join(report.failures)[:1000]}")
    return report.summary()


def invoice_documents() -> str:
    """Render, store and e-mail the documents of invoices issued and not yet sent."""
    rendered, sent = deliver_documents()
    return f"rendered {rendered} PDFs, sent {sent} e-mails"


JOBS = (
    PeriodicJob("invoice-run", invoice_run, default_seconds=3600, lease=timedelta(hours=2)),
    PeriodicJob("invoice-documents", invoice_documents, default_seconds=300, lease=timedelta(hours=1)),
)
