"""Promotions, their grants to subscriptions, coupon codes and their redemptions (docs/charging.md#promotions).

A promotion is an offer on a product (or one of its plans): a promotional price for the first N
periods (a fixed fee or a percentage off), or a free trial of N days (converting to the paid plan or
ending the product, with a reminder before its end). A grant puts one promotion on one subscription
(an AccountProduct, at most one grant each), by an operator or by a coupon. A coupon is a code
customers type; each customer redeems it once (a unique constraint), ``used`` never passes
``usage_limit`` (a conditional UPDATE and a CHECK constraint).
"""

from django.db import models
from django.db.models import F, Q

from tripleplay.catalog.models import Product, SubscriptionPlan
from tripleplay.core.models import ActorFields
from tripleplay.customers.models import AccountProduct, Customer


class PromotionKind(models.TextChoices):
    PRICE = "price"  # a promotional price for the first N periods
    TRIAL = "trial"  # N free days


class Promotion(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)  # shown on the invoice line of each discounted fee
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="promotions")
    plan = models.ForeignKey(SubscriptionPlan, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="promotions")  # only this plan of the product; null: any
    kind = models.CharField(max_length=8, choices=PromotionKind.choices)
    periods = models.PositiveIntegerField(default=0)  # price: how many periods
    fixed_fee_minor = models.BigIntegerField(null=True, blank=True)  # price: the fee of each of them
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True)  # price: or this much off
    trial_days = models.PositiveIntegerField(default=0)
    trial_converts = models.BooleanField(default=True)  # trial: the paid plan follows, else the product ends
    reminder_days = models.PositiveIntegerField(default=0)  # trial: remind this many days before its end
    is_active = models.BooleanField(default=True)  # retired promotions are not granted any more
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="promotion_price_terms",
                condition=~Q(kind="price") | (
                    Q(periods__gt=0, trial_days=0) & (
                        Q(fixed_fee_minor__gte=0, percent_off__isnull=True)
                        | Q(fixed_fee_minor__isnull=True, percent_off__gte=1, percent_off__lte=100)))),
            models.CheckConstraint(
                name="promotion_trial_terms",
                condition=~Q(kind="trial") | Q(trial_days__gt=0, periods=0, fixed_fee_minor__isnull=True,
                                               percent_off__isnull=True, reminder_days__lt=F("trial_days"))),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.code}]"


class Coupon(ActorFields):
    code = models.CharField(max_length=32, unique=True)  # normalized: upper case, no spaces or dashes
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="coupons")
    usage_limit = models.PositiveIntegerField(null=True, blank=True)  # null: unlimited
    used = models.PositiveIntegerField(default=0)
    expires_on = models.DateField(null=True, blank=True)  # last day it can be redeemed; null: never
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(usage_limit__isnull=True) | Q(used__lte=F("usage_limit")),
                                   name="coupon_used_within_limit"),
        ]

    def __str__(self) -> str:
        return self.code


class GrantSource(models.TextChoices):
    OPERATOR = "operator"
    COUPON = "coupon"


class PromotionGrant(ActorFields):
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="grants")
    assignment = models.OneToOneField(AccountProduct, on_delete=models.PROTECT, related_name="promotion_grant")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="promotion_grants")
    source = models.CharField(max_length=8, choices=GrantSource.choices)
    since = models.DateField()  # price: the first promotional period starts on or after this day
    granted_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)  # trial: TRIAL_ENDING ran
    trial_closed_at = models.DateTimeField(null=True, blank=True)  # trial without conversion: product ended

    class Meta:
        ordering = ["-granted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.promotion.code} on assignment {self.assignment_id}"


class CouponRedemption(models.Model):
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="coupon_redemptions")
    grant = models.OneToOneField(PromotionGrant, on_delete=models.PROTECT, related_name="redemption")
    redeemed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon", "customer"], name="coupon_once_per_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} by customer {self.customer_id}"
