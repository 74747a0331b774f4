"""Import a platform's channel packages and PPV events: pulled through its API (on demand and on a
schedule) or pushed by the platform to tripleplay's XML endpoint. Same rules either way: create
new ones, update changed ones, retire removed ones (never delete: products and history refer to
them), and return a diff report. ``apply=False`` computes the report and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core.actors import Actor
from tripleplay.core.errors import InvalidInput
from tripleplay.iptv.models import CatalogItemStatus, ChannelPackage, Platform, PpvEvent
from tripleplay.iptv.platforms.base import PackageInfo, PpvEventInfo
from tripleplay.money import CurrencyError, validate_currency


@dataclass
class ImportReport:
    platform: str
    applied: bool
    packages: dict = field(default_factory=lambda: {"created": [], "updated": [], "retired": [], "unchanged": []})
    ppv_events: dict = field(default_factory=lambda: {"created": [], "updated": [], "retired": [], "unchanged": []})
    changes: dict = field(default_factory=dict)  # external id -> {field: [old, new]}

    def as_dict(self) -> dict:
        return {"platform": self.platform, "applied": self.applied, "packages": self.packages,
                "ppv_events": self.ppv_events, "changes": self.changes}

    @property
    def changed(self) -> bool:
        return any(self.packages[k] or self.ppv_events[k] for k in ("created", "updated", "retired"))


def _package_fields(p: PackageInfo) -> dict:
    return {"name": p.name[:200], "kind": p.kind if p.kind in ("channel", "service") else "channel",
            "description": p.description, "channels": list(p.channels)}


def _event_fields(e: PpvEventInfo) -> dict:
    return {"title": e.title[:200], "price_minor": e.price_minor, "currency": e.currency, "starts_at": e.starts_at,
            "ends_at": e.ends_at, "content_owner": e.content_owner[:200]}


def _check(packages: list[PackageInfo], events: list[PpvEventInfo]) -> None:
    seen = set()
    for p in packages:
        if not p.external_id or p.external_id in seen:
            raise InvalidInput(f"package id {p.external_id!r} is empty or repeated", code="invalid_catalog")
        seen.add(p.external_id)
    seen = set()
    for e in events:
        if not e.external_id or e.external_id in seen:
            raise InvalidInput(f"PPV event id {e.external_id!r} is empty or repeated", code="invalid_catalog")
        seen.add(e.external_id)
        if isinstance(e.price_minor, bool) or not isinstance(e.price_minor, int) or e.price_minor < 0:
            raise InvalidInput(f"PPV event {e.external_id!r}: price must be a non-negative integer of minor units",
                               code="invalid_catalog")
        try:
            validate_currency(e.currency)
        except CurrencyError:
            raise InvalidInput(f"PPV event {e.external_id!r}: unknown currency {e.currency!r}",
                               code="invalid_catalog") from None


def _sync(model, platform: Platform, incoming: dict[str, dict], section: dict, changes: dict, now, apply: bool):
    existing = {o.external_id: o for o in model.objects.select_for_update().filter(platform=platform)}
    for ext_id, fields in sorted(incoming.items()):
        obj = existing.get(ext_id)
        if obj is None:
            section["created"].append(ext_id)
            if apply:
                model.objects.create(platform=platform, external_id=ext_id, first_seen_at=now, updated_at=now,
                                     status=CatalogItemStatus.ACTIVE, **fields)
            continue
        diff = {k: [_plain(getattr(obj, k)), _plain(v)] for k, v in fields.items() if getattr(obj, k) != v}
        if obj.status != CatalogItemStatus.ACTIVE:
            diff["status"] = [obj.status, CatalogItemStatus.ACTIVE]
        if getattr(obj, "origin", "platform") != "platform":
            diff["origin"] = [obj.origin, "platform"]  # the platform now lists it: it manages it
        if not diff:
            section["unchanged"].append(ext_id)
            continue
        section["updated"].append(ext_id)
        changes[ext_id] = diff
        if apply:
            for k, v in fields.items():
                setattr(obj, k, v)
            if hasattr(obj, "origin"):
                obj.origin = "platform"
            obj.status, obj.retired_at, obj.updated_at = CatalogItemStatus.ACTIVE, None, now
            obj.save()
    for ext_id, obj in sorted(existing.items()):
        if getattr(obj, "origin", "platform") != "platform":
            continue  # an operator's own event: not the platform's to retire
        if ext_id not in incoming and obj.status == CatalogItemStatus.ACTIVE:
            section["retired"].append(ext_id)
            if apply:
                obj.status, obj.retired_at, obj.updated_at = CatalogItemStatus.RETIRED, now, now
                obj.save(update_fields=["status", "retired_at", "updated_at"])


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def import_catalog(actor: Actor, platform: Platform, packages: list[PackageInfo], events: list[PpvEventInfo] | None,
                   *, apply: bool = True, source: str = "pull") -> ImportReport:
    """``events=None`` means the platform has no PPV catalog: existing events are left alone."""
    _check(packages, events or [])
    report = ImportReport(platform=platform.code, applied=apply)
    now = clock.now()
    with transaction.atomic():
        _sync(ChannelPackage, platform, {p.external_id: _package_fields(p) for p in packages}, report.packages,
              report.changes, now, apply)
        if events is not None:
            _sync(PpvEvent, platform, {e.external_id: _event_fields(e) for e in events}, report.ppv_events,
                  report.changes, now, apply)
        if apply and report.changed:
            record(actor, "platform.catalog_imported", platform, source=source,
                   packages={k: len(v) for k, v in report.packages.items()},
                   ppv_events={k: len(v) for k, v in report.ppv_events.items()})
            _resync_retired(actor, platform, report.packages["retired"] + report.packages["created"])
    return report


def _resync_retired(actor: Actor, platform: Platform, external_ids: list[str]) -> None:
    """A package that disappears from (or returns to) a platform changes the desired package set
    of every subscriber whose products include it."""
    if not external_ids:
        return
    from tripleplay.iptv.provisioning import sync_account
    from tripleplay.iptv.selectors import accounts_with_packages

    for account in accounts_with_packages(platform, external_ids):
        sync_account(actor, account, "Platform/Catalog/Changed")


def import_from_platform(actor: Actor, platform: Platform, *, apply: bool = True) -> ImportReport:
    """Pull the catalog through the platform's API (network calls happen before any transaction)."""
    from tripleplay.iptv.worker import adapter_for_platform

    with adapter_for_platform(platform) as adapter:
        packages = adapter.list_packages()
        events = adapter.list_ppv_events() if type(adapter).list_ppv_events is not _no_ppv() else None
    return import_catalog(actor, platform, packages, events, apply=apply, source="pull")


def _no_ppv():
    from tripleplay.iptv.platforms.base import Adapter

    return Adapter.list_ppv_events
