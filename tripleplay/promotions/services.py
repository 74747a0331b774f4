"""Promotions, coupons and grants (docs/charging.md#promotions): every write.

- ``grant_promotion``: an operator puts a promotion on a subscription (an AccountProduct).
- ``redeem_coupon``: a customer's coupon code does the same, once per customer (a unique constraint),
  within the coupon's usage limit (a conditional UPDATE of ``used``), before its expiry, while active.
- ``sign_up_account`` / ``redeem_at_sign_up``: a coupon typed at sign-up is redeemed on the new
  subscription it applies to, in the sign-up's own transaction: a refused coupon creates nothing.
- ``remind_trials`` / ``close_trials``: the daily "trials" job: the TRIAL_ENDING hook for trials whose
  reminder is due, and the end of the product of a trial without conversion, each once.

The fee itself is never written here: the charge run prices each period through the grant
(tripleplay.promotions.rules, read by tripleplay.subscriptions.schedule). Lock order: the coupon row,
then the assignment row (before the customer's funds, which the charge run locks after it).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.catalog.models import CatalogStatus, Product, SubscriptionPlan
from tripleplay.core import validation as v
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, DomainError, InvalidInput, NotFound
from tripleplay.customers.models import Account, AccountProduct, AssignmentRole, Customer, Status
from tripleplay.customers.services import change_account_status, create_account, remove_addon
from tripleplay.promotions import hooks, rules
from tripleplay.promotions.models import (
    Coupon,
    CouponRedemption,
    GrantSource,
    Promotion,
    PromotionGrant,
    PromotionKind,
)

CODE = re.compile(r"^[A-Z0-9]{3,32}$")
TRIAL_ENDED = "free trial ended"
TERMS = "promotion_terms_invalid"  # a rule between a promotion's fields (its kind decides which apply)


def normalize_code(code) -> str:
    """Codes are typed by people: case, spaces and dashes do not count ("half-tv 3" is HALFTV3)."""
    value = re.sub(r"[\s-]", "", code).upper() if isinstance(code, str) else ""
    if not CODE.match(value):
        raise InvalidInput("code must be 3 to 32 letters or digits (spaces and dashes are ignored)",
                           code="coupon_code_malformed", details={"field": "code"})
    return value


def _count(value, field: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value > 100_000:
        raise InvalidInput(f"{field} must be a whole number from {minimum} to 100000", code=TERMS,
                           details={"field": field})
    return value


def create_promotion(actor: Actor, *, code: str, name: str, product: Product, kind: str,
                     plan: SubscriptionPlan | None = None, periods: int = 0, fixed_fee_minor: int | None = None,
                     percent_off: int | None = None, trial_days: int = 0, trial_converts: bool = True,
                     reminder_days: int = 0) -> Promotion:
    code = v.text(code, "code", required=True, max_length=64)
    if not re.match(r"^[-a-zA-Z0-9_]+$", code):
        raise InvalidInput("code may hold letters, digits, '-' and '_' only", details={"field": "code"})
    fields = dict(code=code, name=v.text(name, "name", required=True), product=product, plan=plan,
                  kind=v.choice(kind, "kind", PromotionKind))
    if product.status != CatalogStatus.ACTIVE:
        raise Conflict(f"product {product.code!r} is retired", code="product_retired")
    if plan is not None and plan.product_id != product.pk:
        raise InvalidInput(f"plan {plan.code!r} is not a plan of {product.code!r}", code=TERMS,
                           details={"field": "plan_id"})
    if kind == PromotionKind.PRICE:
        if (fixed_fee_minor is None) == (percent_off is None):
            raise InvalidInput("a price promotion has either fixed_fee_minor or percent_off", code=TERMS,
                               details={"field": "fixed_fee_minor"})
        fields.update(periods=_count(periods, "periods", minimum=1))
        if fixed_fee_minor is not None:
            fields.update(fixed_fee_minor=v.minor_amount(fixed_fee_minor, "fixed_fee_minor"))
        else:
            percent_off = _count(percent_off, "percent_off", minimum=1)
            if percent_off > 100:
                raise InvalidInput("percent_off must be from 1 to 100", code=TERMS, details={"field": "percent_off"})
            fields.update(percent_off=percent_off)
    else:
        days = _count(trial_days, "trial_days", minimum=1)
        reminder = _count(reminder_days, "reminder_days")
        if reminder >= days:
            raise InvalidInput("reminder_days must be fewer than trial_days", code=TERMS,
                               details={"field": "reminder_days"})
        if not isinstance(trial_converts, bool):
            raise InvalidInput("trial_converts must be true or false", code=TERMS, details={"field": "trial_converts"})
        fields.update(trial_days=days, reminder_days=reminder, trial_converts=trial_converts)
    try:
        with transaction.atomic():
            promotion = Promotion.objects.create(created_at=clock.now(), **fields)
            record(actor, "promotion.created", promotion, code=promotion.code, kind=promotion.kind,
                   product=product.code)
    except IntegrityError as e:
        raise Conflict(f"promotion {code!r} exists", code="duplicate") from e
    return promotion


def set_promotion_active(actor: Actor, promotion: Promotion, active: bool) -> Promotion:
    """Retire a promotion (no new grants; those made keep running) or offer it again."""
    with transaction.atomic():
        Promotion.objects.filter(pk=promotion.pk).update(is_active=active)
        promotion.is_active = active
        record(actor, "promotion.activated" if active else "promotion.retired", promotion)
    return promotion


def create_coupon(actor: Actor, *, code: str, promotion: Promotion, usage_limit: int | None = None,
                  expires_on: date | None = None) -> Coupon:
    code = normalize_code(code)
    if usage_limit is not None:
        usage_limit = _count(usage_limit, "usage_limit", minimum=1)
    if not promotion.is_active:
        raise Conflict(f"promotion {promotion.code!r} is retired", code="promotion_retired")
    try:
        with transaction.atomic():
            coupon = Coupon(code=code, promotion=promotion, usage_limit=usage_limit, expires_on=expires_on,
                            created_at=clock.now())
            coupon.set_actor(actor)
            coupon.save()
            record(actor, "coupon.created", coupon, code=code, promotion=promotion.code, usage_limit=usage_limit,
                   expires_on=expires_on.isoformat() if expires_on else None)
    except IntegrityError as e:
        raise Conflict(f"coupon {code!r} exists", code="duplicate") from e
    return coupon


def set_coupon_active(actor: Actor, coupon: Coupon, active: bool) -> Coupon:
    with transaction.atomic():
        Coupon.objects.filter(pk=coupon.pk).update(is_active=active)
        coupon.is_active = active
        record(actor, "coupon.enabled" if active else "coupon.disabled", coupon)
    return coupon


def _grant(actor: Actor, assignment: AccountProduct, promotion: Promotion, source: str) -> PromotionGrant:
    """Inside the caller's transaction: lock the assignment row, check, write the grant."""
    today = clock.today()
    a = (AccountProduct.objects.select_for_update(of=("self",)).select_related("account__customer", "plan")
         .get(pk=assignment.pk))
    if not promotion.is_active:
        raise Conflict(f"promotion {promotion.code!r} is retired", code="promotion_retired")
    if a.product_id != promotion.product_id or (promotion.plan_id and promotion.plan_id != a.plan_id):
        raise Conflict(f"promotion {promotion.code!r} does not apply to plan {a.plan.code!r}",
                       code="promotion_not_applicable")
    if a.account.customer.status == Status.CLOSED or (a.end_date is not None and a.end_date <= today):
        raise Conflict(f"subscription {a.pk} has ended", code="subscription_ended")
    if promotion.kind == PromotionKind.TRIAL and a.start_date < today:
        raise Conflict("a free trial starts with the subscription: grant it on its first day",
                       code="trial_after_start")
    if PromotionGrant.objects.filter(assignment=a).exists():
        raise Conflict(f"subscription {a.pk} already has a promotion", code="already_promoted")
    grant = PromotionGrant(promotion=promotion, assignment=a, customer=a.account.customer, source=source,
                           since=max(today, a.start_date), granted_at=clock.now())
    grant.set_actor(actor)
    grant.save()
    record(actor, "promotion.granted", a.account, promotion=promotion.code, assignment=a.pk, source=source,
           since=grant.since.isoformat())
    return grant


def grant_promotion(actor: Actor, assignment: AccountProduct, promotion: Promotion) -> PromotionGrant:
    try:
        with transaction.atomic():
            return _grant(actor, assignment, promotion, GrantSource.OPERATOR)
    except IntegrityError as e:  # a concurrent grant on the same subscription
        raise Conflict(f"subscription {assignment.pk} already has a promotion", code="already_promoted") from e


def _redeemable(code: str) -> Coupon:
    """The coupon of a normalized code, if it exists, is active and has not expired."""
    coupon = Coupon.objects.select_related("promotion__product").filter(code=code).first()
    if coupon is None:
        raise NotFound(f"no coupon {code!r}", code="coupon_not_found")
    if not coupon.is_active:
        raise Conflict(f"coupon {code!r} is disabled", code="coupon_disabled")
    if coupon.expires_on is not None and clock.today() > coupon.expires_on:
        raise Conflict(f"coupon {code!r} expired on {coupon.expires_on.isoformat()}", code="coupon_expired")
    return coupon


def redeem_coupon(actor: Actor, assignment: AccountProduct, code: str) -> PromotionGrant:
    """The coupon's promotion on ``assignment``: once per customer, within its usage limit and expiry."""
    code = normalize_code(code)
    customer_id = AccountProduct.objects.filter(pk=assignment.pk).values_list("account__customer_id", flat=True)[0]
    try:
        with transaction.atomic():
            coupon = _redeemable(code)
            if CouponRedemption.objects.filter(coupon=coupon, customer_id=customer_id).exists():
                raise Conflict(f"coupon {code!r} was used by this customer", code="coupon_already_used")
            # The usage limit holds under concurrency: one conditional UPDATE, its row count checked
            # (and the CHECK constraint used <= usage_limit behind it).
            taken = (Coupon.objects.filter(pk=coupon.pk, is_active=True)
                     .filter(Q(usage_limit__isnull=True) | Q(used__lt=F("usage_limit")))
                     .update(used=F("used") + 1))
            if not taken:
                raise Conflict(f"coupon {code!r} has reached its usage limit", code="coupon_used_up")
            grant = _grant(actor, assignment, coupon.promotion, GrantSource.COUPON)
            CouponRedemption.objects.create(coupon=coupon, customer_id=customer_id, grant=grant,
                                            redeemed_at=clock.now())
            record(actor, "coupon.redeemed", coupon, customer=customer_id, assignment=assignment.pk)
            return grant
    except IntegrityError as e:  # a concurrent redemption by the same customer, or grant on the subscription
        if CouponRedemption.objects.filter(coupon__code=code, customer_id=customer_id).exists():
            raise Conflict(f"coupon {code!r} was used by this customer", code="coupon_already_used") from e
        raise Conflict(f"subscription {assignment.pk} already has a promotion", code="already_promoted") from e


def sign_up_code(code) -> str | None:
    """The coupon code typed at sign-up, normalized; None when none was typed (None or blank)."""
    if code is None or (isinstance(code, str) and not code.strip()):
        return None
    try:
        return normalize_code(code)
    except InvalidInput as e:
        e.details["field"] = "coupon_code"
        raise


def redeem_at_sign_up(actor: Actor, accounts: list[Account], code: str) -> PromotionGrant:
    """Inside the sign-up's transaction: redeem ``code`` on the first new subscription of ``accounts``
    (by id: each account's main product, then its add-ons) that the coupon's promotion applies to (its
    product, and its plan when it names one). Every refusal of ``redeem_coupon`` applies (an unknown,
    disabled or expired code first), and 409 ``promotion_not_applicable`` when none of the new
    subscriptions is the promotion's; ``details.field`` is ``coupon_code``. The caller's transaction
    then rolls the whole sign-up back (D220)."""
    code = normalize_code(code)
    try:
        promotion = _redeemable(code).promotion
        candidates = AccountProduct.objects.filter(account__in=[a.pk for a in accounts],
                                                   product_id=promotion.product_id)
        if promotion.plan_id:
            candidates = candidates.filter(plan_id=promotion.plan_id)
        assignment = candidates.order_by("id").first()
        if assignment is None:
            raise Conflict(f"coupon {code!r} is for {promotion.product.name}, which this sign-up does not include",
                           code="promotion_not_applicable")
        return redeem_coupon(actor, assignment, code)
    except DomainError as e:  # the sign-up's answer points at the field that was refused
        e.details.setdefault("field", "coupon_code")
        raise


def sign_up_account(actor: Actor, customer: Customer, *, coupon_code: str | None = None, **fields) -> Account:
    """``customers.services.create_account`` and, when a coupon code is given, its promotion on the
    new subscription it applies to (``redeem_at_sign_up``), in one transaction: a refused coupon
    leaves no account (and no provisioning command) behind."""
    code = sign_up_code(coupon_code)  # a malformed code is refused before anything is written
    with transaction.atomic():
        account = create_account(actor, customer, **fields)
        if code is not None:
            redeem_at_sign_up(actor, [account], code)
    return account


def _trials(**filters):
    return (PromotionGrant.objects.filter(promotion__kind=PromotionKind.TRIAL, trial_closed_at__isnull=True, **filters)
            .select_related("promotion", "assignment__account__customer").order_by("id"))


def remind_trials(actor: Actor, today: date | None = None) -> int:
    """Run TRIAL_ENDING once for each trial whose reminder is due (from ``reminder_days`` before its
    end until its end), in the transaction that marks it reminded. Returns how many."""
    today = today or clock.today()
    done = 0
    for g in _trials(reminded_at__isnull=True, promotion__reminder_days__gt=0):
        end = rules.trial_end(g.assignment.start_date, g.promotion.trial_days)
        ended = g.assignment.end_date is not None and g.assignment.end_date <= today
        if ended or not (end - timedelta(days=g.promotion.reminder_days) <= today < end):
            continue
        with transaction.atomic():
            if not PromotionGrant.objects.filter(pk=g.pk, reminded_at__isnull=True).update(reminded_at=clock.now()):
                continue  # another worker reminded it
            hooks.TRIAL_ENDING(actor, hooks.TrialEnding(
                customer=g.assignment.account.customer, assignment=g.assignment, promotion=g.promotion.name,
                trial_end=end, converts=g.promotion.trial_converts, key=f"trial_ending:{g.pk}"))
            record(actor, "promotion.trial_reminded", g.assignment.account, assignment=g.assignment_id,
                   trial_end=end.isoformat())
        done += 1
    return done


def close_trials(actor: Actor, today: date | None = None) -> int:
    """End the product of each trial without conversion whose last free day has passed: an add-on is
    removed on the trial's end, a main product's account is closed (an account has a main product
    while open). Both reach the platforms like any end (customers' ACCOUNT_CHANGED, the outbox)."""
    today = today or clock.today()
    done = 0
    for g in _trials(promotion__trial_converts=False):
        end = rules.trial_end(g.assignment.start_date, g.promotion.trial_days)
        if end > today:
            continue
        with transaction.atomic():
            if not PromotionGrant.objects.filter(pk=g.pk, trial_closed_at__isnull=True).update(
                    trial_closed_at=clock.now()):
                continue
            a = AccountProduct.objects.select_related("account").get(pk=g.assignment_id)
            if a.end_date is None and a.account.status != Status.CLOSED:
                if a.role == AssignmentRole.ADDON:
                    remove_addon(actor, a.account, a.pk, end_date=end, reason=TRIAL_ENDED)
                else:
                    change_account_status(actor, a.account, Status.CLOSED, reason=TRIAL_ENDED)
        done += 1
    return done
