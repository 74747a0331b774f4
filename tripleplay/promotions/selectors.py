"""Reads for promotions, and the one read the fee schedule needs (``promo_of``)."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet

from tripleplay.core.errors import NotFound
from tripleplay.customers.models import AccountProduct, Customer
from tripleplay.promotions import rules
from tripleplay.promotions.models import Coupon, Promotion, PromotionGrant, PromotionKind

# For querysets of AccountProduct that the schedule prices (one join, no query per subscription).
GRANT = "promotion_grant__promotion"


def promo_of(assignment: AccountProduct) -> rules.Promo | None:
    """The subscription's promotion as the fee schedule sees it, or None."""
    try:
        grant = assignment.promotion_grant
    except ObjectDoesNotExist:
        return None
    return grant_terms(grant) if grant is not None else None


def grant_terms(grant: PromotionGrant) -> rules.Promo:
    p = grant.promotion
    if p.kind == PromotionKind.TRIAL:
        return rules.Promo(p.name, rules.TRIAL, trial_days=p.trial_days, converts=p.trial_converts)
    return rules.Promo(p.name, rules.PRICE, since=grant.since, periods=p.periods, fixed_fee=p.fixed_fee_minor,
                       percent_off=p.percent_off)


def promotions() -> QuerySet[Promotion]:
    return Promotion.objects.select_related("product", "plan").order_by("code")


def coupons() -> QuerySet[Coupon]:
    return Coupon.objects.select_related("promotion").order_by("code")


def grants_of(customer: Customer | int) -> QuerySet[PromotionGrant]:
    customer_id = customer if isinstance(customer, int) else customer.pk
    return (PromotionGrant.objects.filter(customer_id=customer_id)
            .select_related("promotion", "assignment__plan", "assignment__account").order_by("-granted_at", "-id"))


def promotion(promotion_id: int) -> Promotion:
    try:
        return promotions().get(pk=promotion_id)
    except (Promotion.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"promotion {promotion_id} does not exist") from None


def coupon(coupon_id: int) -> Coupon:
    try:
        return coupons().get(pk=coupon_id)
    except (Coupon.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"coupon {coupon_id} does not exist") from None


def subscription(account_id: int, assignment_id: int) -> AccountProduct:
    """A product of an account (current or not)."""
    try:
        return AccountProduct.objects.select_related("account", "plan").get(pk=assignment_id, account_id=account_id)
    except (AccountProduct.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"account {account_id} has no product assignment {assignment_id}") from None
