from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.promotions.models import Coupon, CouponRedemption, Promotion, PromotionGrant


@admin.register(Promotion)
class PromotionAdmin(ReadOnlyAdmin):
    list_display = ["id", "code", "name", "product", "kind", "periods", "fixed_fee_minor", "percent_off",
                    "trial_days", "trial_converts", "is_active"]


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ["id", "code", "promotion", "usage_limit", "used", "expires_on", "is_active"]


@admin.register(PromotionGrant)
class PromotionGrantAdmin(ReadOnlyAdmin):
    list_display = ["id", "promotion", "assignment", "customer", "source", "since", "granted_at", "reminded_at"]


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "coupon", "customer", "grant", "redeemed_at"]
