"""IPTV platforms: configuration, connection test, the provisioning queue, reconciliation."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.shortcuts import redirect

from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.core.errors import InvalidInput
from tripleplay.iptv import configuration, reconcile
from tripleplay.iptv import selectors as iptv_selectors
from tripleplay.iptv.models import ProvisioningStatus
from tripleplay.iptv.platforms.registry import adapters
from tripleplay.orders import selectors as order_selectors
from tripleplay.orders import services as order_services
from tripleplay.web.access import ADMINS, OPERATIONS, action, page
from tripleplay.web.views.common import paginate, show


def _timeout(value: str | None):
    try:
        return Decimal((value or "10").strip())
    except InvalidOperation:
        raise InvalidInput("timeout must be a number of seconds") from None


@page()
def platform_list(request):
    kinds = [(kind, cls.label or kind) for kind, cls in adapters().items()]
    return show(request, "platforms/list.html", "platforms", platforms=iptv_selectors.platforms(),
                queue={q["platform"]: q for q in iptv_selectors.queue_health()}, kinds=kinds)


@action(*ADMINS)
def platform_create(request):
    p = request.POST
    platform = configuration.create_platform(request.actor, code=p.get("code", ""), name=p.get("name", ""),
                                             kind=p.get("kind", ""), base_url=p.get("base_url", ""),
                                             username=p.get("username", ""), secret=p.get("secret", ""),
                                             timeout_seconds=str(_timeout(p.get("timeout_seconds"))))
    messages.success(request, f"Platform {platform.code} added.")
    return redirect("web:platform", platform.pk)


@page()
def platform_detail(request, platform_id: int):
    platform = iptv_selectors.platform(platform_id)
    orderable = order_selectors.orderable_product_ids(platform)
    products = [{"product": p, "orderable": p.pk in orderable}
                for p in catalog_selectors.products(status="active").order_by("kind", "code")]
    return show(request, "platforms/detail.html", "platforms", platform=platform, orderable_products=products,
                queue=next((q for q in iptv_selectors.queue_health() if q["platform"] == platform.code), None))


@action(*ADMINS)
def platform_orderable(request, platform_id: int):
    """Orders from the TV screen: which products this platform may order (docs/orders.md)."""
    platform = iptv_selectors.platform(platform_id)
    try:
        ids = [int(v) for v in request.POST.getlist("product_ids")]
    except ValueError:
        raise InvalidInput("product ids are numbers", details={"field": "product_ids"}) from None
    changed = order_services.set_orderable_products(request.actor, platform, ids)
    messages.success(request, f"Orders from the TV screen on {platform.code}: {changed} change(s) saved.")
    return redirect("web:platform", platform.pk)


@action(*ADMINS)
def platform_update(request, platform_id: int):
    p = request.POST
    changes = {"name": p.get("name", ""), "base_url": p.get("base_url", ""), "username": p.get("username", ""),
               "timeout_seconds": str(_timeout(p.get("timeout_seconds"))), "enabled": p.get("enabled") == "on"}
    if p.get("secret"):  # blank keeps the stored secret (it is never shown)
        changes["secret"] = p["secret"]
    if p.get("inbound_secret"):  # TVIP TMS's billing token (D230); blank keeps the stored one
        changes["inbound_secret"] = p["inbound_secret"]
    platform = configuration.update_platform(request.actor, iptv_selectors.platform(platform_id), **changes)
    messages.success(request, f"Platform {platform.code} saved.")
    return redirect("web:platform", platform.pk)


@action(*OPERATIONS)
def platform_test(request, platform_id: int):
    platform = iptv_selectors.platform(platform_id)
    result = configuration.test_connection(platform)
    if result["ok"]:
        messages.success(request, f"Connection to {platform.code} works.")
    else:
        messages.error(request, f"Connection to {platform.code} failed: {result['error']}")
    return redirect("web:platform", platform.pk)


@action(*ADMINS)
def platform_token(request, platform_id: int):
    platform = iptv_selectors.platform(platform_id)
    token = configuration.issue_inbound_token(request.actor, platform)
    # Shown on this response only, never put in a message (messages may travel in a cookie).
    return show(request, "platforms/token.html", "platforms", platform=platform, token=token)


@action(*ADMINS)
def platform_reconcile(request, platform_id: int):
    platform = iptv_selectors.platform(platform_id)
    repair = request.POST.get("repair") == "1"
    report = reconcile.reconcile(request.actor, platform, repair=repair)
    if repair:
        messages.success(request, f"{report.repaired} subscriber(s) queued for repair on {platform.code}.")
    return show(request, "platforms/reconcile.html", "platforms", platform=platform, report=report.as_dict(),
                repaired=repair)


@page()
def queue(request):
    status = request.GET.get("status") or None
    if status not in {s.value for s in ProvisioningStatus}:
        status = None
    code = request.GET.get("platform") or ""
    platform = next((p for p in iptv_selectors.platforms() if p.code == code), None)
    qs = iptv_selectors.subscribers(platform_id=platform.pk if platform else None, status=status)
    if request.GET.get("queued") == "1":
        qs = qs.filter(pending_command__isnull=False)
    subscribers = paginate(request, qs.order_by("-updated_at", "-id"))
    return show(request, "platforms/queue.html", "platforms", subscribers=subscribers, page=subscribers,
                platforms=iptv_selectors.platforms(), statuses=list(ProvisioningStatus), filters=request.GET)
