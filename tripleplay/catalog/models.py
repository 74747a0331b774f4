"""Catalog: service types, products and their subscription plans.

A product bundles services (iptv, voice, data, messaging, ppv) and is sold under one or more
subscription plans. Main products are what an account is built on; add-on products extend it (extra
channel packages are add-ons). Products and plans are retired, never deleted while in use: account
assignments reference them with PROTECT.
"""

from django.db import models
from django.db.models import Q


class ServiceType(models.TextChoices):
    IPTV = "iptv"
    VOICE = "voice"
    DATA = "data"
    MESSAGING = "messaging"
    PPV = "ppv"


class ProductKind(models.TextChoices):
    MAIN = "main"
    ADDON = "addon"


class CatalogStatus(models.TextChoices):
    ACTIVE = "active"
    RETIRED = "retired"


class BillingPeriod(models.TextChoices):
    """A customer's billing period (the invoice cycle, tripleplay.invoicing.periods)."""

    DAILY = "daily"
    WEEKLY = "weekly"
    SEMIMONTHLY = "semimonthly"
    MONTHLY = "monthly"


class Period(models.TextChoices):
    """A subscription plan's period (tripleplay.subscriptions.periods): the billing periods and the
    longer ones operators sell (D70); a customer is still invoiced on its own billing period."""

    DAILY = "daily"
    WEEKLY = "weekly"
    SEMIMONTHLY = "semimonthly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual", "Semi-annual"
    ANNUAL = "annual"


class ChargeMode(models.TextChoices):
    IN_ADVANCE = "in_advance"  # the coming period is charged at its start
    IN_ARREARS = "in_arrears"  # a period is charged at its end
    DAILY = "daily"  # progressive: charged day by day


class Alignment(models.TextChoices):
    """Where a plan's periods start (tripleplay.subscriptions.schedule, D92)."""

    ANNIVERSARY = "anniversary"  # from the subscription's start: the first period is whole
    BILLING_PERIOD = "billing_period", "Billing period"  # from the customer's bill-cycle day: a partial first period


class AllowanceUnit(models.TextChoices):
    MINUTES = "minutes"
    MEGABYTES = "megabytes"
    MESSAGES = "messages"


class Product(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=ProductKind.choices)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=CatalogStatus.choices, default=CatalogStatus.ACTIVE)
    # The operator's choice: subscribers may add and remove this add-on themselves in the portal (/my/).
    self_service = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} [{self.code}]"

    @property
    def service_types(self) -> list[str]:
        return sorted(s.service_type for s in self.services.all())


class ProductService(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="services")
    service_type = models.CharField(max_length=16, choices=ServiceType.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "service_type"], name="product_service_unique"),
        ]

    def __str__(self) -> str:
        return self.service_type


class SubscriptionPlan(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="plans")
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    activation_fee_minor = models.BigIntegerField(default=0)
    periodic_fee_minor = models.BigIntegerField(default=0)
    period = models.CharField(max_length=12, choices=Period.choices, default=Period.MONTHLY)
    charge_mode = models.CharField(max_length=12, choices=ChargeMode.choices, default=ChargeMode.IN_ADVANCE)
    alignment = models.CharField(max_length=16, choices=Alignment.choices, default=Alignment.ANNIVERSARY)
    prorate_first_period = models.BooleanField(default=True)
    prorate_last_period = models.BooleanField(default=True)
    minimum_term_periods = models.PositiveIntegerField(default=0)
    early_cancellation_fee_minor = models.BigIntegerField(default=0)
    # What a period costs per day on a vacation hold instead of the periodic fee, as a fee for the
    # whole period prorated by held days (tripleplay/subscriptions/holds.py, D152); may be zero.
    hold_fee_minor = models.BigIntegerField(default=0)
    status = models.CharField(max_length=8, choices=CatalogStatus.choices, default=CatalogStatus.ACTIVE)
    created_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product__code", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(activation_fee_minor__gte=0), name="plan_activation_fee_gte_0"),
            models.CheckConstraint(condition=Q(periodic_fee_minor__gte=0), name="plan_periodic_fee_gte_0"),
            models.CheckConstraint(
                condition=Q(early_cancellation_fee_minor__gte=0), name="plan_early_cancel_fee_gte_0"
            ),
            models.CheckConstraint(condition=Q(hold_fee_minor__gte=0), name="plan_hold_fee_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.code}]"

    @property
    def currency(self) -> str:
        return self.product.currency


class PlanAllowance(models.Model):
    """Included usage per period (free minutes, MB, messages), consumed before money by rating."""

    plan = models.ForeignKey(SubscriptionPlan, on_delete=models.CASCADE, related_name="allowances")
    service_type = models.CharField(max_length=16, choices=ServiceType.choices)
    unit = models.CharField(max_length=12, choices=AllowanceUnit.choices)
    quantity = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "service_type", "unit"], name="plan_allowance_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.unit} of {self.service_type}"
