"""Customers (who signs and pays) and their accounts (service endpoints: an IPTV subscriber, a phone
line, an internet login). Statuses keep a full history of who changed them, when and why.

A customer's status is derived: each source that may hold it (the operator, collections, prepaid
funds, later the network) keeps its own CustomerBlock, and Customer.status is the effective status
of those holds (tripleplay.customers.blocking), stored so that every reader (the PPV SQL fast path
among them) reads one column."""

from django.db import models
from django.db.models import Q

from tripleplay.catalog.models import BillingPeriod, Product, SubscriptionPlan
from tripleplay.core.models import ActorFields


class BalanceModel(models.TextChoices):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class Status(models.TextChoices):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # a source holds it with "suspend" (overdue, insufficient funds, an operator)
    BLOCKED = "blocked"  # a source holds it with "block" (an operator, collections at day 30)
    CLOSED = "closed"  # final


# The transitions an operator may ask for, for customers and accounts alike. Closed is final. A
# customer's status derived from its holds may move between any two statuses short of closed (an
# operator's unblock leaves it suspended while its funds still hold it).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.ACTIVE: frozenset({Status.SUSPENDED, Status.BLOCKED, Status.CLOSED}),
    Status.SUSPENDED: frozenset({Status.ACTIVE, Status.BLOCKED, Status.CLOSED}),
    Status.BLOCKED: frozenset({Status.ACTIVE, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class Customer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2
    currency = models.CharField(max_length=3)
    balance_model = models.CharField(max_length=8, choices=BalanceModel.choices)
    billing_period = models.CharField(max_length=12, choices=BillingPeriod.choices, default=BillingPeriod.MONTHLY)
    # monthly: day of month 1..31 (31 = last day in shorter months); semimonthly: 1..15 (and +15);
    # weekly: ISO weekday 1..7; daily: 1.
    bill_cycle_day = models.PositiveSmallIntegerField(default=1)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, default=0)  # percent, e.g. 20.0000
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=200, blank=True)
    status_changed_at = models.DateTimeField()
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # The integrator's own id for the customer (its CRM's), unique where set, and its free labels:
    # string keys to string values, bounded (customers.metadata, D116). Tripleplay never reads either.
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["name"])]
        constraints = [
            models.CheckConstraint(condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100), name="customer_tax_rate_range"),
            models.CheckConstraint(
                condition=Q(bill_cycle_day__gte=1) & Q(bill_cycle_day__lte=31), name="customer_bill_cycle_day_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"


class CustomerStatusChange(ActorFields):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=200)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class BlockSource(models.TextChoices):
    """Who holds a customer. Each source sets and lifts only its own hold."""

    OPERATOR = "operator"  # a person, through the API or the web UI
    COLLECTIONS = "collections"  # overdue invoices (tripleplay.collections)
    FUNDS = "funds"  # a prepaid fee the funds do not cover (tripleplay.subscriptions)
    NETWORK = "network"  # reserved for the network (fraud, abuse), not set by any code yet


class BlockEffect(models.TextChoices):
    SUSPEND = "suspend"
    BLOCK = "block"


class CustomerBlock(ActorFields):
    """One source's hold on a customer, from ``since`` until ``lifted_at`` (null while it holds).
    At most one current hold per (customer, source); a source that changes its effect (collections
    going from suspend to block) ends its current row and starts another, so the rows are the
    history of every hold. The actor fields say who placed it; ``lifted_by`` who ended it."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="blocks")
    source = models.CharField(max_length=12, choices=BlockSource.choices)
    effect = models.CharField(max_length=8, choices=BlockEffect.choices)
    reason = models.CharField(max_length=200)  # for people; no code decides on it
    since = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.CharField(max_length=200, blank=True)
    lifted_by = models.CharField(max_length=190, blank=True)  # "kind:name" of the actor

    class Meta:
        ordering = ["since", "id"]
        constraints = [
            # Also the index of every "does this source hold the customer" read.
            models.UniqueConstraint(fields=["customer", "source"], condition=Q(lifted_at__isnull=True),
                                    name="one_current_block_per_customer_source"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.source} {self.effect} since {self.since:%Y-%m-%d}"

    @property
    def is_current(self) -> bool:
        return self.lifted_at is None


class Account(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    # Identifiers platforms and networks know the account by. Unique where set.
    login = models.CharField(max_length=100, null=True, blank=True, unique=True)
    device_id = models.CharField(max_length=100, null=True, blank=True, unique=True)  # STB serial or MAC
    phone_number = models.CharField(max_length=32, null=True, blank=True, unique=True)  # E.164 digits
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=200, blank=True)
    status_changed_at = models.DateTimeField()
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)  # as Customer's
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.login or self.phone_number or self.device_id or f"account #{self.pk}"


class AccountStatusChange(ActorFields):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=200)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class AssignmentRole(models.TextChoices):
    MAIN = "main"
    ADDON = "addon"


class AccountProduct(models.Model):
    """A product on an account for a span of dates: start_date inclusive, end_date exclusive (the
    first day without the service); end_date null while the product is current. Exactly one current
    main product per account (a partial unique index)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="products")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="assignments")
    plan = models.ForeignKey(SubscriptionPlan, on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(max_length=8, choices=AssignmentRole.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["account_id", "role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(role="main", end_date__isnull=True),
                name="one_current_main_product_per_account",
            ),
            models.UniqueConstraint(
                fields=["account", "product"],
                condition=Q(end_date__isnull=True),
                name="product_current_once_per_account",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="assignment_end_not_before_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.role} {self.product.code} {self.start_date}..{self.end_date or ''}"

    @property
    def is_current(self) -> bool:
        return self.end_date is None


class HoldStatus(models.TextChoices):
    SCHEDULED = "scheduled"  # before its first day
    ACTIVE = "active"  # started: the platforms have the account disabled
    ENDED = "ended"  # over (on its end date, or ended early by an operator)
    CANCELLED = "cancelled"  # withdrawn before its first day: it never counted


class VacationHold(ActorFields):
    """An account paused for ``start_date`` (inclusive) to ``end_date`` (exclusive, the day service
    resumes), docs/charging.md#vacation-holds (D151-D156). The platforms disable the account while
    the hold is ``active`` (the daily job "vacation-holds" starts and ends holds on their dates);
    the subscription fees of the held days are replaced by the plan's hold fee. A hold that is not
    cancelled counts for fees with its dates, whatever its status. The actor fields say who asked.
    At most one hold that is not cancelled covers a day of an account (checked under the account's
    lock, tripleplay.customers.vacation)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="vacation_holds")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="vacation_holds")
    start_date = models.DateField()
    end_date = models.DateField()  # exclusive: the first day of service again
    status = models.CharField(max_length=10, choices=HoldStatus.choices, default=HoldStatus.SCHEDULED)
    reason = models.CharField(max_length=200, blank=True)  # for people
    channel = models.CharField(max_length=12, default="operator")  # operator | portal
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)  # ended or cancelled
    ended_by = models.CharField(max_length=190, blank=True)  # "kind:name" of the actor who ended or cancelled it
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["account_id", "start_date", "id"]
        indexes = [models.Index(fields=["status", "start_date"]), models.Index(fields=["status", "end_date"])]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gt=models.F("start_date")), name="vacation_hold_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"hold of account {self.account_id} {self.start_date}..{self.end_date} ({self.status})"
