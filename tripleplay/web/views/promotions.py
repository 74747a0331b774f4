"""Promotions and coupon codes (lists, forms, retire/disable), and grants on a customer's subscriptions."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.shortcuts import redirect

from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.core.errors import InvalidInput
from tripleplay.money import Money
from tripleplay.promotions import selectors, services
from tripleplay.web.access import OPERATIONS, READERS, action, back, page
from tripleplay.web.views.common import clean, paginate, show


def _whole(text: str | None, field: str) -> int:
    text = (text or "").strip() or "0"
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise InvalidInput(f"{field} must be a whole number", details={"field": field})
    return int(text)


def _id(text: str | None, what: str) -> int:
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"choose {what}")
    return int(text)


@page()
def promotions(request):
    items = paginate(request, selectors.promotions())
    products = catalog_selectors.products(status="active")
    return show(request, "promotions/list.html", "promotions", promotions=items, page=items, products=products)


@action(*OPERATIONS)
def promotion_create(request):
    p = request.POST
    product = catalog_selectors.product(_id(p.get("product_id"), "a product"))
    kind = p.get("kind", "")
    fields = {}
    if kind == "price":
        fields["periods"] = _whole(p.get("periods"), "periods")
        if clean(p.get("fixed_fee")):
            fields["fixed_fee_minor"] = Money.parse(p.get("fixed_fee"), product.currency).minor
        else:
            fields["percent_off"] = _whole(p.get("percent_off"), "percent_off")
    elif kind == "trial":
        fields.update(trial_days=_whole(p.get("trial_days"), "trial_days"),
                      reminder_days=_whole(p.get("reminder_days"), "reminder_days"),
                      trial_converts=p.get("trial_converts") == "on")
    promo = services.create_promotion(request.actor, code=p.get("code", ""), name=p.get("name", ""), product=product,
                                      kind=kind, **fields)
    messages.success(request, f"Promotion {promo.name} created.")
    return redirect("web:promotions")


@action(*OPERATIONS)
def promotion_active(request, promotion_id: int):
    promo = services.set_promotion_active(request.actor, selectors.promotion(promotion_id),
                                          request.POST.get("is_active") == "1")
    messages.success(request, f"Promotion {promo.name} is {'offered' if promo.is_active else 'retired'}.")
    return redirect("web:promotions")


@page()
def coupons(request):
    items = paginate(request, selectors.coupons())
    return show(request, "promotions/coupons.html", "promotions", coupons=items, page=items,
                promotions=selectors.promotions().filter(is_active=True))


@action(*OPERATIONS)
def coupon_create(request):
    p = request.POST
    expires = clean(p.get("expires_on"))
    try:
        expires_on = date.fromisoformat(expires) if expires else None
    except ValueError:
        raise InvalidInput("valid through must be a date (YYYY-MM-DD)", details={"field": "expires_on"}) from None
    limit = clean(p.get("usage_limit"))
    coupon = services.create_coupon(request.actor, code=p.get("code", ""),
                                    promotion=selectors.promotion(_id(p.get("promotion_id"), "a promotion")),
                                    usage_limit=_whole(limit, "usage_limit") if limit else None, expires_on=expires_on)
    messages.success(request, f"Coupon {coupon.code} created.")
    return redirect("web:coupons")


@action(*OPERATIONS)
def coupon_active(request, coupon_id: int):
    coupon = services.set_coupon_active(request.actor, selectors.coupon(coupon_id), request.POST.get("is_active") == "1")
    messages.success(request, f"Coupon {coupon.code} is {'enabled' if coupon.is_active else 'disabled'}.")
    return redirect("web:coupons")


@action(*OPERATIONS)
def grant(request, account_id: int):
    subscription = selectors.subscription(account_id, _id(request.POST.get("assignment_id"), "a product"))
    g = services.grant_promotion(request.actor, subscription,
                                 selectors.promotion(_id(request.POST.get("promotion_id"), "a promotion")))
    messages.success(request, f"{g.promotion.name} granted on {subscription.product.name}.")
    return redirect(back(request))


@action(*READERS)
def redeem(request, account_id: int):
    subscription = selectors.subscription(account_id, _id(request.POST.get("assignment_id"), "a product"))
    g = services.redeem_coupon(request.actor, subscription, request.POST.get("code", ""))
    messages.success(request, f"Coupon accepted: {g.promotion.name} on {subscription.product.name}.")
    return redirect(back(request))
