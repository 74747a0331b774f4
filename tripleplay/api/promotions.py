"""Promotions, coupon codes and their grants on subscriptions (docs/charging.md#promotions).

- A promotion is a promotional price for the first N periods of a product's plans (``fixed_fee_minor``
  or ``percent_off``), or a free trial of ``trial_days`` (converting to the paid plan or ending the
  product, with a reminder ``reminder_days`` before its end). 422 ``promotion_terms_invalid`` when the
  fields do not fit the kind (``details.field``).
- A grant puts one on a subscription (an account's product assignment): by an operator
  (``/promotion``) or a coupon code (``/coupon``; case, spaces and dashes ignored). Refusals: 409
  ``already_promoted``, ``promotion_not_applicable``, ``promotion_retired``, ``subscription_ended``,
  ``trial_after_start`` (a trial is granted on the subscription's first day, at sign-up);
  coupons: 404 ``coupon_not_found``, 409 ``coupon_disabled``, ``coupon_expired``, ``coupon_used_up``,
  ``coupon_already_used`` (once per customer), 422 ``coupon_code_malformed``.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictBool, StrictInt

from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import OPERATIONS, READERS, require
from tripleplay.api.schemas import Code, Id, IdParam, In, IsoDate, NonNegativeMinor, RequiredText, Text
from tripleplay.catalog import selectors as catalog_selectors
from tripleplay.promotions import selectors, services

router = Router(tags=["promotions"])

Count = Annotated[StrictInt, Field(ge=0, le=100_000)]


class PromotionIn(In):
    code: Code
    name: RequiredText(200) = Field(description="shown on the invoice line of each discounted fee")
    product_id: Id
    plan_id: Id | None = Field(None, description="only this plan of the product; null: any of its plans")
    kind: Literal["price", "trial"]
    periods: Count = Field(0, description="price: how many periods (after an aligned plan's partial first one)")
    fixed_fee_minor: NonNegativeMinor | None = Field(None, description="price: each period's fee; or percent_off")
    percent_off: Annotated[StrictInt, Field(ge=1, le=100)] | None = Field(None, description="price: or this much off")
    trial_days: Count = Field(0, description="trial: free days from the subscription's start")
    trial_converts: StrictBool = Field(True, description="trial: the paid plan follows; false: the product ends")
    reminder_days: Count = Field(0, description="trial: remind the customer this many days before its end; 0: none")


class PromotionOut(Schema):
    id: int
    code: str
    name: str
    product_id: int
    plan_id: int | None
    kind: str
    periods: int
    fixed_fee_minor: int | None
    percent_off: int | None
    trial_days: int
    trial_converts: bool
    reminder_days: int
    is_active: bool
    created_at: datetime


class PromotionActiveIn(In):
    is_active: StrictBool


class CouponIn(In):
    code: Text = Field(max_length=64, description="3 to 32 letters or digits; case, spaces and dashes ignored")
    promotion_id: Id
    usage_limit: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = Field(None, description="null: unlimited")
    expires_on: IsoDate | None = Field(None, description="the last day it can be redeemed; null: never")


class CouponOut(Schema):
    id: int
    code: str
    promotion_id: int
    usage_limit: int | None
    used: int
    expires_on: date | None
    is_active: bool
    created_at: datetime


class PromotionGrantIn(In):
    promotion_id: Id


class CouponRedeemIn(In):
    code: Text = Field(max_length=64, description="as the customer typed it")


class PromotionGrantOut(Schema):
    id: int
    promotion_id: int
    promotion_name: str
    assignment_id: int
    customer_id: int
    source: str = Field(description="operator or coupon")
    since: date = Field(description="price: the first promotional period starts on or after this day")
    granted_at: datetime
    reminded_at: datetime | None

    @staticmethod
    def resolve_promotion_name(obj) -> str:
        return obj.promotion.name


# -- promotions -----------------------------------------------------------------------------------------


@router.get("/promotions", response=list[PromotionOut])
@paginate(BoundedPagination)
def list_promotions(request):
    require(request, *READERS)
    return selectors.promotions()


@router.post("/promotions", response={201: PromotionOut})
def create_promotion(request, payload: PromotionIn):
    actor = require(request, *OPERATIONS)
    product = catalog_selectors.product(payload.product_id)
    plan = catalog_selectors.plan(payload.plan_id) if payload.plan_id else None
    fields = payload.model_dump(exclude={"product_id", "plan_id"})
    return services.create_promotion(actor, product=product, plan=plan, **fields)


@router.get("/promotions/{promotion_id}", response=PromotionOut)
def get_promotion(request, promotion_id: IdParam):
    require(request, *READERS)
    return selectors.promotion(promotion_id)


@router.post("/promotions/{promotion_id}/active", response=PromotionOut)
def set_promotion_active(request, promotion_id: IdParam, payload: PromotionActiveIn):
    """Retire a promotion (false: no new grants or coupons; granted ones run on) or offer it again."""
    actor = require(request, *OPERATIONS)
    return services.set_promotion_active(actor, selectors.promotion(promotion_id), payload.is_active)


# -- coupons --------------------------------------------------------------------------------------------


@router.get("/coupons", response=list[CouponOut])
@paginate(BoundedPagination)
def list_coupons(request):
    require(request, *READERS)
    return selectors.coupons()


@router.post("/coupons", response={201: CouponOut})
def create_coupon(request, payload: CouponIn):
    actor = require(request, *OPERATIONS)
    return services.create_coupon(actor, code=payload.code, promotion=selectors.promotion(payload.promotion_id),
                                  usage_limit=payload.usage_limit, expires_on=payload.expires_on)


@router.get("/coupons/{coupon_id}", response=CouponOut)
def get_coupon(request, coupon_id: IdParam):
    require(request, *READERS)
    return selectors.coupon(coupon_id)


@router.post("/coupons/{coupon_id}/active", response=CouponOut)
def set_coupon_active(request, coupon_id: IdParam, payload: PromotionActiveIn):
    """Disable a coupon (false: refused from now on, 409 coupon_disabled) or enable it again."""
    actor = require(request, *OPERATIONS)
    return services.set_coupon_active(actor, selectors.coupon(coupon_id), payload.is_active)


# -- grants ---------------------------------------------------------------------------------------------


@router.get("/customers/{customer_id}/promotion-grants", response=list[PromotionGrantOut])
@paginate(BoundedPagination)
def customer_grants(request, customer_id: IdParam):
    """The customer's promotions, newest first."""
    require(request, *READERS)
    return selectors.grants_of(customer_id)


@router.post("/accounts/{account_id}/products/{assignment_id}/promotion", response={201: PromotionGrantOut})
def grant_promotion(request, account_id: IdParam, assignment_id: IdParam, payload: PromotionGrantIn):
    """An operator grants a promotion on a subscription (at sign-up: on its first day)."""
    actor = require(request, *OPERATIONS)
    return services.grant_promotion(actor, selectors.subscription(account_id, assignment_id),
                                    selectors.promotion(payload.promotion_id))


@router.post("/accounts/{account_id}/products/{assignment_id}/coupon", response={201: PromotionGrantOut})
def redeem_coupon(request, account_id: IdParam, assignment_id: IdParam, payload: CouponRedeemIn):
    """A customer's coupon code grants its promotion on the subscription."""
    actor = require(request, *READERS)
    return services.redeem_coupon(actor, selectors.subscription(account_id, assignment_id), payload.code)
