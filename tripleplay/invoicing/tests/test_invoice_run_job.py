"""The worker's invoice-run job runs as many batch loops as TRIPLEPLAY_INVOICE_RUN_THREADS says (D263)."""

from __future__ import annotations

from datetime import date

import pytest

from tripleplay.invoicing import jobs
from tripleplay.invoicing.services import RunReport

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("setting", "threads"), [(2, 2), (3, 3), (1, 1), (0, 1)])
def test_the_job_runs_the_configured_batch_loops(settings, monkeypatch, setting, threads):
    settings.TRIPLEPLAY_INVOICE_RUN_THREADS = setting
    calls = []

    def run(actor, through=None, **kwargs):
        calls.append((actor.ref, kwargs))
        return RunReport(date(2026, 2, 1), invoices=4, batches=1)

    monkeypatch.setattr(jobs, "run_invoices", run)
    assert jobs.invoice_run() == "through 2026-02-01: 4 invoices issued in 1 batches; 0 failures"
    assert calls == [("invoice-run-job", {"threads": threads})]


def test_the_default_is_two_loops():
    from django.conf import settings

    assert settings.TRIPLEPLAY_INVOICE_RUN_THREADS == 2
