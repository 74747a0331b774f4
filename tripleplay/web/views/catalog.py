"""Catalog: products and plans, rate tables, channel packages per platform (import with a diff
shown before it is applied), PPV events. Reads for every role; writes for admins (as the API)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse

from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.catalog import services as catalog_services
from tripleplay.catalog.models import Alignment, ChargeMode, Period, ProductKind, ServiceType
from tripleplay.core.errors import InvalidInput
from tripleplay.iptv import catalog_import
from tripleplay.iptv import packages as packages_services
from tripleplay.iptv import selectors as iptv_selectors
from tripleplay.money import Money
from tripleplay.ppv import services as ppv_services
from tripleplay.rating import services as rating_services
from tripleplay.rating.models import RateTable
from tripleplay.web.access import ADMINS, action, page
from tripleplay.web.views.common import paginate, show


def _platform_filter(request):
    value = request.GET.get("platform") or ""
    return int(value) if value.isdigit() else None


@page()
def products(request):
    qs = catalog_selectors.products().order_by("kind", "code")
    plans: dict[int, list] = {}
    for plan in catalog_selectors.plans().order_by("code"):
        plans.setdefault(plan.product_id, []).append(plan)
    items = list(qs)
    for p in items:
        p.plan_list = plans.get(p.pk, [])
    return show(request, "catalog/products.html", "catalog", products=items, kinds=list(ProductKind),
                service_types=list(ServiceType), periods=list(Period), charge_modes=list(ChargeMode),
                alignments=list(Alignment))


@action(*ADMINS)
def product_create(request):
    product = catalog_services.create_product(
        request.actor, code=request.POST.get("code", ""), name=request.POST.get("name", ""),
        kind=request.POST.get("kind", ""), currency=(request.POST.get("currency") or "").upper(),
        services=request.POST.getlist("services"), description=request.POST.get("description", ""))
    messages.success(request, f"Product {product.code} created.")
    return redirect("web:catalog")


def _fee(request, field: str, currency: str) -> int:
    text = (request.POST.get(field) or "0").strip()
    return Money.parse(text, currency).minor


def _yes(request, field: str) -> bool | str:
    """A yes/no select, yes when absent (the plan's default); anything else is refused by create_plan."""
    text = request.POST.get(field) or "yes"
    return {"yes": True, "no": False}.get(text, text)


def _count(request, field: str) -> int | str:
    text = (request.POST.get(field) or "0").strip()
    return int(text) if text.isdecimal() else text  # not a count: create_plan refuses it with its message


@action(*ADMINS)
def plan_create(request, product_id: int):
    product = catalog_selectors.product(product_id)
    plan = catalog_services.create_plan(
        request.actor, product, code=request.POST.get("code", ""), name=request.POST.get("name", ""),
        periodic_fee_minor=_fee(request, "periodic_fee", product.currency),
        activation_fee_minor=_fee(request, "activation_fee", product.currency),
        period=request.POST.get("period") or Period.MONTHLY,
        charge_mode=request.POST.get("charge_mode") or ChargeMode.IN_ADVANCE,
        alignment=request.POST.get("alignment") or Alignment.ANNIVERSARY,
        prorate_first_period=_yes(request, "prorate_first_period"),
        prorate_last_period=_yes(request, "prorate_last_period"),
        minimum_term_periods=_count(request, "minimum_term_periods"),
        early_cancellation_fee_minor=_fee(request, "early_cancellation_fee", product.currency),
        hold_fee_minor=_fee(request, "hold_fee", product.currency))
    messages.success(request, f"Plan {plan.code} created for {product.code}.")
    return redirect("web:catalog")


@action(*ADMINS)
def product_retire(request, product_id: int):
    product = catalog_services.retire_product(request.actor, catalog_selectors.product(product_id))
    messages.success(request, f"Product {product.code} retired: it can no longer be sold.")
    return redirect("web:catalog")


@page()
def rate_tables(request):
    tables = RateTable.objects.select_related("product").prefetch_related("rates").order_by("product__code",
                                                                                             "service_type")
    rateable = [p for p in catalog_selectors.products().filter(status="active").order_by("code")
                if set(p.service_types) & set(RATED_SERVICES)]
    return show(request, "catalog/rate_tables.html", "catalog", tables=tables, products=rateable,
                services=RATED_SERVICES, units=UNITS, weekdays=WEEKDAYS)


RATED_SERVICES = ("voice", "data", "messaging")
UNITS = {"voice": "minute", "data": "MB", "messaging": "message"}
WEEKDAYS = [("1", "Mon"), ("2", "Tue"), ("3", "Wed"), ("4", "Thu"), ("5", "Fri"), ("6", "Sat"), ("7", "Sun")]


def _micros(request, field: str, *, required: bool = False) -> int | None:
    """A price typed in the currency's major unit with up to six decimals (0.015 a minute), as the
    integer micro-units rates are kept in (docs/money.md). Never rounded: more decimals are refused."""
    text = (request.POST.get(field) or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{field.replace('_', ' ')} is required", details={"field": field})
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{field.replace('_', ' ')}: {text!r} is not a number", details={"field": field}) from None
    micros = value * 1_000_000
    if not value.is_finite() or value < 0 or micros != micros.to_integral_value():
        raise InvalidInput(f"{field.replace('_', ' ')} must be 0 or more with at most six decimals",
                           details={"field": field})
    return int(micros)


def _int(request, field: str, default: int) -> int:
    text = (request.POST.get(field) or "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise InvalidInput(f"{field.replace('_', ' ')} must be a whole number of units", details={"field": field})
    return int(text)


def _time(request, field: str) -> time | None:
    text = (request.POST.get(field) or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field.replace('_', ' ')}: {text!r} is not a time (HH:MM)", details={"field": field}) from None


@action(*ADMINS)
def rate_table_create(request):
    product_id = request.POST.get("product_id") or ""
    if not product_id.isdigit():
        raise InvalidInput("choose a product", details={"field": "product_id"})
    table = rating_services.create_rate_table(request.actor, catalog_selectors.product(int(product_id)),
                                              service_type=request.POST.get("service_type", ""),
                                              name=request.POST.get("name", ""))
    messages.success(request, f"Rate table {table.name} created: add its rates below.")
    return redirect("web:rate_tables")


@action(*ADMINS)
def rate_set(request, table_id: int):
    table = get_object_or_404(RateTable, pk=table_id)
    rate = rating_services.set_rate(
        request.actor, table, prefix=(request.POST.get("prefix") or "").strip(),
        price_per_unit_micros=_micros(request, "price", required=True),
        connection_fee_micros=_micros(request, "connection_fee") or 0,
        first_increment=_int(request, "first_increment", 1), next_increment=_int(request, "next_increment", 1),
        offpeak_price_per_unit_micros=_micros(request, "offpeak_price"),
        next_price_per_unit_micros=_micros(request, "next_price"),
        offpeak_next_price_per_unit_micros=_micros(request, "offpeak_next_price"),
        offpeak_connection_fee_micros=_micros(request, "offpeak_connection_fee"),
        description=(request.POST.get("description") or "").strip())
    messages.success(request, f"Rate for prefix {rate.prefix or '(default)'} saved in {table.name}.")
    return redirect("web:rate_tables")


@action(*ADMINS)
def peak_window_set(request, table_id: int):
    table = get_object_or_404(RateTable, pk=table_id)
    if request.POST.get("remove"):
        start = end = None
    else:
        start, end = _time(request, "start"), _time(request, "end")
    table = rating_services.set_peak_window(request.actor, table, start=start, end=end,
                                            weekdays="".join(request.POST.getlist("weekdays")) or table.peak_weekdays,
                                            time_zone=(request.POST.get("time_zone") or "").strip())
    if table.peak_start is None:
        messages.success(request, f"{table.name}: no peak window, every call is at the peak rate.")
    else:
        messages.success(request, f"{table.name}: peak {table.peak_start:%H:%M}-{table.peak_end:%H:%M} "
                                  f"on weekdays {table.peak_weekdays}.")
    return redirect("web:rate_tables")


@page()
def packages(request):
    platform_id = _platform_filter(request)
    iptv_products = catalog_selectors.products(service_type=ServiceType.IPTV).filter(status="active").order_by("code")
    return show(request, "catalog/packages.html", "catalog",
                packages=iptv_selectors.packages(platform_id=platform_id).order_by("platform__code", "external_id"),
                platforms=iptv_selectors.platforms(), platform_id=platform_id, iptv_products=iptv_products,
                periods=list(Period))


@action(*ADMINS)
def package_link(request, package_id: int):
    package = iptv_selectors.package(package_id)
    product = catalog_selectors.product(request.POST.get("product_id"))
    if request.POST.get("unlink") == "1":
        packages_services.unlink_package(request.actor, package, product)
        messages.success(request, f"{product.code} no longer grants {package.name}.")
    else:
        packages_services.link_package(request.actor, package, product)
        messages.success(request, f"{product.code} now grants {package.name}.")
    return redirect(reverse("web:packages") + f"?platform={package.platform_id}")


@action(*ADMINS)
def package_sell(request, package_id: int):
    package = iptv_selectors.package(package_id)
    currency = (request.POST.get("currency") or "").upper()
    if not currency:
        raise InvalidInput("currency is required")
    code = request.POST.get("code", "").strip()
    product = packages_services.sell_package_as_addon(
        request.actor, package, code=code, name=request.POST.get("name", "").strip() or None, currency=currency,
        plan={"code": f"{code}-{request.POST.get('period') or Period.MONTHLY}",
              "name": f"{request.POST.get('name', '').strip() or package.name} {request.POST.get('period') or 'monthly'}",
              "periodic_fee_minor": Money.parse(request.POST.get("price", ""), currency).minor,
              "period": request.POST.get("period") or Period.MONTHLY})
    messages.success(request, f"{package.name} is now sold as the add-on {product.code}.")
    return redirect(reverse("web:packages") + f"?platform={package.platform_id}")


@action(*ADMINS)
def package_import(request, platform_id: int):
    """Without ``apply``: ask the platform and show what would change (nothing written). With it:
    import again and apply; the page then shows what was applied (the platform may have changed
    between the two, and the applied diff is the truth)."""
    platform = iptv_selectors.platform(platform_id)
    apply = request.POST.get("apply") == "1"
    report = catalog_import.import_from_platform(request.actor, platform, apply=apply)
    if apply:
        messages.success(request, f"Import from {platform.code} applied.")
    return show(request, "catalog/import.html", "catalog", platform=platform, report=report.as_dict(),
                changed=report.changed, applied=apply)


@page()
def ppv_events(request):
    platform_id = _platform_filter(request)
    return show(request, "catalog/ppv_events.html", "catalog",
                events=iptv_selectors.ppv_events(platform_id=platform_id).order_by("-id"),
                platforms=iptv_selectors.platforms(), platform_id=platform_id)


@action(*ADMINS)
def ppv_event_create(request):
    platform = iptv_selectors.platform(request.POST.get("platform_id"))
    currency = (request.POST.get("currency") or "").upper()
    if not currency:
        raise InvalidInput("currency is required")
    event = ppv_services.create_event(request.actor, platform, external_id=request.POST.get("external_id", "").strip(),
                                      title=request.POST.get("title", "").strip(),
                                      price_minor=Money.parse(request.POST.get("price", ""), currency).minor,
                                      currency=currency, content_owner=request.POST.get("content_owner", "").strip())
    messages.success(request, f"PPV event {event.external_id} created on {platform.code}.")
    return redirect(reverse("web:ppv_events"))


@page()
def ppv_purchases(request):
    """Every PPV purchase, newest first, by status, platform and day (authorization day)."""
    from datetime import date, timedelta

    from tripleplay.ppv import selectors as ppv_selectors
    from tripleplay.ppv.models import PurchaseStatus
    from tripleplay.web.selectors import start_of

    status = request.GET.get("status") or None
    if status not in {s.value for s in PurchaseStatus}:
        status = None
    qs = ppv_selectors.purchases(status=status, platform_id=_platform_filter(request))
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = None
    if day:
        qs = qs.filter(authorized_at__gte=start_of(day), authorized_at__lt=start_of(day + timedelta(days=1)))
    purchases = paginate(request, qs)
    return show(request, "catalog/ppv_purchases.html", "catalog", purchases=purchases, page=purchases,
                statuses=list(PurchaseStatus), platforms=iptv_selectors.platforms(), filters=request.GET,
                platform_id=_platform_filter(request))
