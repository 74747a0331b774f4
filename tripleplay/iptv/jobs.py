"""The periodic jobs `tripleplay worker` runs (intervals: settings.TRIPLEPLAY_JOB_INTERVALS)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from tripleplay.core.actors import Actor
from tripleplay.core.scheduler import Job
from tripleplay.iptv.platforms.base import PlatformError


def expire_holds() -> str:
    from tripleplay.ledger.services import expire_holds as expire
    from tripleplay.ppv.services import expire_authorizations

    purchases = expire_authorizations()  # PPV first: they release their own holds and note it
    return f"expired {purchases} PPV authorizations, released {expire()} other expired holds"


def import_packages() -> str:
    from tripleplay.iptv.catalog_import import import_from_platform
    from tripleplay.iptv.models import Platform

    actor = Actor.system("package-import")
    results = []
    for platform in Platform.objects.filter(enabled=True).order_by("code"):
        try:
            report = import_from_platform(actor, platform)
            changed = ", ".join(f"{k} {len(v)}" for k, v in report.packages.items() if k != "unchanged" and v)
            results.append(f"{platform.code}: {changed or 'no change'}")
        except PlatformError as e:
            results.append(f"{platform.code}: {type(e).__name__}: {e}")
    return "; ".join(results) or "no platforms"


def reconcile_platforms() -> str:
    """Report drift on every enabled platform (and repair it when TRIPLEPLAY_JOB_RECONCILE_REPAIR=1)."""
    from tripleplay.iptv.models import Platform
    from tripleplay.iptv.reconcile import reconcile

    actor = Actor.system("reconcile-job")
    results = []
    for platform in Platform.objects.filter(enabled=True).order_by("code"):
        try:
            report = reconcile(actor, platform, repair=settings.TRIPLEPLAY_JOB_RECONCILE_REPAIR)
            results.append(f"{platform.code}: in sync {report.in_sync}/{report.checked}, drift {report.summary() or 'none'}"
                           + (f", repaired {report.repaired}" if report.repaired else ""))
        except PlatformError as e:
            results.append(f"{platform.code}: {type(e).__name__}: {e}")
    return "; ".join(results) or "no platforms"


def dated_product_changes() -> str:
    from tripleplay.iptv.provisioning import sync_dated_changes

    return f"{sync_dated_changes(Actor.system('dated-changes'))} provisioning commands for changes dated today"


def charge_subscriptions() -> str:
    """Recurring charges up to today (tripleplay.subscriptions, docs/charging.md); idempotent."""
    from tripleplay.subscriptions.services import charge_all

    report = charge_all(Actor.system("charge-job"))
    if report.failures:  # the scheduler records it as failed; the next interval retries
        raise RuntimeError(f"{report.summary()}: {'; '.join(report.failures)[:1000]}")
    return report.summary()


def invoice_run() -> str:
    """Close the billing periods due today (tripleplay.invoicing, docs/invoicing.md); idempotent."""
    from tripleplay.invoicing.services import run_invoices

    report = run_invoices(Actor.system("invoice-run-job"))
    if report.failures:
        raise RuntimeError(f"{report.summary()}: {'; '.join(report.failures)[:1000]}")
    return report.summary()


def invoice_documents() -> str:
    """Render, store and e-mail the documents of invoices issued and not yet sent."""
    from tripleplay.invoicing.documents import deliver_documents

    rendered, sent = deliver_documents()
    return f"rendered {rendered} PDFs, sent {sent} e-mails"


def collections() -> str:
    """Mark invoices overdue and apply the collections policy's steps (tripleplay.collections)."""
    from tripleplay.collections.services import run_collections

    report = run_collections(Actor.system("collections-job"))
    if report.failures:
        raise RuntimeError(f"{report.summary()}: {'; '.join(report.failures)[:1000]}")
    return report.summary()


def worker_jobs() -> list[Job]:
    intervals = settings.TRIPLEPLAY_JOB_INTERVALS
    return [
        Job("expire-holds", timedelta(seconds=intervals.get("expire-holds", 60)), expire_holds),
        Job("import-packages", timedelta(seconds=intervals.get("import-packages", 21600)), import_packages,
            lease=timedelta(minutes=30)),
        Job("reconcile", timedelta(seconds=intervals.get("reconcile", 86400)), reconcile_platforms,
            lease=timedelta(hours=1)),
        Job("dated-changes", timedelta(seconds=intervals.get("dated-changes", 3600)), dated_product_changes),
        # Recurring subscription charges (tripleplay.subscriptions): env TRIPLEPLAY_JOB_CHARGE_SECONDS.
        Job("charge", timedelta(seconds=intervals.get("charge", 3600)), charge_subscriptions, lease=timedelta(hours=1)),
        # Invoicing and collections (docs/invoicing.md): TRIPLEPLAY_JOB_INVOICE_RUN_SECONDS and the like.
        Job("invoice-run", timedelta(seconds=intervals.get("invoice-run", 3600)), invoice_run, lease=timedelta(hours=2)),
        Job("invoice-documents", timedelta(seconds=intervals.get("invoice-documents", 300)), invoice_documents,
            lease=timedelta(hours=1)),
        Job("collections", timedelta(seconds=intervals.get("collections", 3600)), collections, lease=timedelta(hours=1)),
    ]
