"""The IPTV app's periodic jobs (registered in tripleplay.iptv.apps; see tripleplay.core.scheduler)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from tripleplay.core.actors import Actor
from tripleplay.core.scheduler import PeriodicJob, WorkerLoop
from tripleplay.iptv.catalog_import import import_from_platform
from tripleplay.iptv.grants import deliver_grants
from tripleplay.iptv.models import Platform
from tripleplay.iptv.platforms.base import PlatformError
from tripleplay.iptv.provisioning import sync_dated_changes
from tripleplay.iptv.reconcile import reconcile


def import_packages() -> str:
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
    return f"{sync_dated_changes(Actor.system('dated-changes'))} provisioning commands for changes dated today"


JOBS = (
    PeriodicJob("import-packages", import_packages, default_seconds=6 * 3600, lease=timedelta(minutes=30)),
    PeriodicJob("reconcile", reconcile_platforms, default_seconds=24 * 3600, lease=timedelta(hours=1)),
    PeriodicJob("dated-changes", dated_product_changes, default_seconds=3600),
)

# PPV events sold in the portal, told to their platforms: every worker, between its provisioning batches.
LOOPS = (WorkerLoop("ppv-grants", deliver_grants, lambda: None),)
