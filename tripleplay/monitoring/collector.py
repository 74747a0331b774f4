"""The gauges /metrics reads from the database at scrape time. Every web process answers the same
figures (they are the database's), so no multiprocess bookkeeping is needed for them. Labels carry
platform codes, job names and worker names only: never a customer, account or subscriber."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tripleplay import clock
from tripleplay.core.heartbeat import workers_seen
from tripleplay.core.scheduler import job_states, worker_jobs
from tripleplay.invoicing.selectors import invoice_run_progress
from tripleplay.iptv.selectors import oldest_pending_commands, provisioning_queue
from tripleplay.monitoring.readiness import running_a_job
from tripleplay.radius import selectors as radius_selectors
from tripleplay.webhooks import selectors as webhook_selectors


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        up = _gauge("tripleplay_database_up", "1 if the database answered this scrape's queries, else 0")
        try:
            metrics = [*self._provisioning(), *self._outboxes(), *self._jobs(), *self._workers(), *self._invoice_run()]
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _provisioning(self) -> list[Metric]:
        now = clock.now()
        commands = _gauge("tripleplay_provisioning_commands",
                          "Provisioning commands by platform and status", ["platform", "status"])
        for row in provisioning_queue():
            commands.add_metric([row.platform, row.status], row.commands)
        oldest = _gauge("tripleplay_provisioning_oldest_pending_age_seconds",
                        "Age of the oldest pending provisioning command, per platform with any pending", ["platform"])
        for row in oldest_pending_commands():
            oldest.add_metric([row.platform], max(0.0, (now - row.created_at).total_seconds()))
        return [commands, oldest]

    def _outboxes(self) -> list[Metric]:
        """The RADIUS Disconnect outbox and the webhook deliveries, as the provisioning queue: rows by
        status (failed is the dead letter) and the age of the oldest pending one (0 when none waits)."""
        now = clock.now()
        metrics = []
        for prefix, what, queue, oldest_at in (
            ("tripleplay_radius_commands", "RADIUS Disconnect-Request commands", radius_selectors.command_queue,
             radius_selectors.oldest_pending_command_at),
            ("tripleplay_webhook_deliveries", "Webhook deliveries", webhook_selectors.delivery_queue,
             webhook_selectors.oldest_pending_delivery_at),
        ):
            counts = _gauge(prefix, f"{what} by status", ["status"])
            for status, n in queue().items():
                counts.add_metric([status], n)
            age = _gauge(f"{prefix}_oldest_pending_age_seconds", f"Age of the oldest pending of the {what} "
                         "(0 when none is pending)")
            oldest = oldest_at()
            age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0)
            metrics += [counts, age]
        return metrics

    def _jobs(self) -> list[Metric]:
        now = clock.now()
        states = job_states()
        interval = _gauge("tripleplay_job_interval_seconds", "Configured interval of each periodic job (0: off)", ["job"])
        success = _gauge("tripleplay_job_last_success_timestamp_seconds",
                         "When each periodic job last finished without error (Unix time)", ["job"])
        duration = _gauge("tripleplay_job_last_duration_seconds", "How long each job's last run took", ["job"])
        ok = _gauge("tripleplay_job_last_result_ok", "1 if the job's last run succeeded, 0 if it failed", ["job"])
        running = _gauge("tripleplay_job_running", "1 while a worker holds the job's lease", ["job"])
        for job in worker_jobs():
            interval.add_metric([job.name], job.interval.total_seconds())
            state = states.get(job.name)
            if state is None:
                continue  # never due yet: no row; absent series rather than invented zeros
            if state.last_succeeded_at is not None:
                success.add_metric([job.name], state.last_succeeded_at.timestamp())
            if state.last_duration_ms is not None:
                duration.add_metric([job.name], state.last_duration_ms / 1000)
            if state.last_ok is not None:
                ok.add_metric([job.name], 1 if state.last_ok else 0)
            running.add_metric([job.name], 1 if state.lease_until is not None and state.lease_until > now else 0)
        return [interval, success, duration, ok, running]

    def _workers(self) -> list[Metric]:
        now = clock.now()
        stale = settings.TRIPLEPLAY_WORKER_HEARTBEAT_STALE_SECONDS
        age = _gauge("tripleplay_worker_heartbeat_age_seconds",
                     "Seconds since each worker last wrote its heartbeat (rows of stopped workers go within a day)",
                     ["worker"])
        alive = _gauge("tripleplay_workers_alive",
                       "Workers whose heartbeat is within TRIPLEPLAY_WORKER_HEARTBEAT_STALE_SECONDS, "
                       "or that hold a job's lease")
        busy = running_a_job(now)
        fresh = 0
        for worker in workers_seen():
            seconds = max(0.0, (now - worker.seen_at).total_seconds())
            age.add_metric([worker.name], seconds)
            fresh += stale <= 0 or seconds <= stale or worker.name in busy
        alive.add_metric([], fresh)
        return [age, alive]

    def _invoice_run(self) -> list[Metric]:
        today = clock.today()
        progress = invoice_run_progress(today)
        due = _gauge("tripleplay_invoice_periods_due",
                     "Billing periods that have ended and are not yet closed by an invoice (the invoice run's backlog)")
        due.add_metric([], progress.periods_due)
        lag = _gauge("tripleplay_invoice_oldest_due_period_age_seconds",
                     "How long ago the oldest unclosed billing period ended (0 when none is due)")
        lag.add_metric([], (today - progress.oldest_due_period_end).days * 86400 if progress.oldest_due_period_end else 0)
        closed = _gauge("tripleplay_invoice_periods_closed_today", "Invoices issued today (periods the run closed)")
        closed.add_metric([], progress.closed_on_day)
        return [due, lag, closed]
