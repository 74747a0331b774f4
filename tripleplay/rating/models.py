"""Usage rating: rate tables per product and service, rated usage records (xDRs), and the allowance
each subscription period has used. Rules in docs/rating.md; writes in services.py only."""

from django.db import models
from django.db.models import Q

from tripleplay.catalog.models import PlanAllowance, Product
from tripleplay.customers.models import Account, AccountProduct
from tripleplay.ledger.models import LedgerEntry


class RatedService(models.TextChoices):
    VOICE = "voice"
    DATA = "data"
    MESSAGING = "messaging"


class RateTable(models.Model):
    """The prices of one service of one product, in the product's currency."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="rate_tables")
    service_type = models.CharField(max_length=16, choices=RatedService.choices)
    currency = models.CharField(max_length=3)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    # Peak window (docs/rating.md): a call that starts, in ``time_zone`` ("" = the installation's
    # TIME_ZONE), on one of ``peak_weekdays`` (ISO digits, 1 = Monday) at peak_start <= time < peak_end
    # is peak; any other start is off-peak. No window (peak_start null): every time is peak.
    time_zone = models.CharField(max_length=64, blank=True)
    peak_weekdays = models.CharField(max_length=7, default="12345")
    peak_start = models.TimeField(null=True, blank=True)
    peak_end = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["product__code", "service_type"]
        constraints = [
            models.UniqueConstraint(fields=["product", "service_type"], name="rate_table_product_service_unique"),
            models.CheckConstraint(condition=(Q(peak_start__isnull=True) & Q(peak_end__isnull=True))
                                   | Q(peak_start__lt=models.F("peak_end")), name="rate_table_peak_window"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.product.code} {self.service_type})"


class Rate(models.Model):
    """A price for destinations starting with ``prefix`` ("" = every other destination).

    Increments are in the service's base unit: seconds (voice), kilobytes of 1,000 bytes (data),
    messages (messaging). Prices are micro-units of the major unit per minute / MB / message."""

    table = models.ForeignKey(RateTable, on_delete=models.CASCADE, related_name="rates")
    prefix = models.CharField(max_length=32, blank=True)
    price_per_unit_micros = models.BigIntegerField()
    connection_fee_micros = models.BigIntegerField(default=0)
    first_increment = models.PositiveIntegerField(default=1)
    next_increment = models.PositiveIntegerField(default=1)
    # Off-peak terms (null: the same as peak), applied when the xDR starts outside the table's peak window.
    offpeak_price_per_unit_micros = models.BigIntegerField(null=True, blank=True)
    offpeak_connection_fee_micros = models.BigIntegerField(null=True, blank=True)
    # The price of every interval after the first (null: the first interval's price, a single-price
    # rate); price_per_unit_micros is the first interval's. Off-peak likewise (null: as peak).
    next_price_per_unit_micros = models.BigIntegerField(null=True, blank=True)
    offpeak_next_price_per_unit_micros = models.BigIntegerField(null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["table_id", "prefix"]
        constraints = [
            models.UniqueConstraint(fields=["table", "prefix"], name="rate_table_prefix_unique"),
            models.CheckConstraint(condition=Q(price_per_unit_micros__gte=0), name="rate_price_gte_0"),
            models.CheckConstraint(condition=Q(connection_fee_micros__gte=0), name="rate_connection_fee_gte_0"),
            models.CheckConstraint(condition=Q(offpeak_price_per_unit_micros__isnull=True)
                                   | Q(offpeak_price_per_unit_micros__gte=0), name="rate_offpeak_price_gte_0"),
            models.CheckConstraint(condition=Q(offpeak_connection_fee_micros__isnull=True)
                                   | Q(offpeak_connection_fee_micros__gte=0), name="rate_offpeak_fee_gte_0"),
            models.CheckConstraint(condition=Q(next_price_per_unit_micros__isnull=True)
                                   | Q(next_price_per_unit_micros__gte=0), name="rate_next_price_gte_0"),
            models.CheckConstraint(condition=Q(offpeak_next_price_per_unit_micros__isnull=True)
                                   | Q(offpeak_next_price_per_unit_micros__gte=0), name="rate_offpeak_next_price_gte_0"),
            models.CheckConstraint(condition=Q(first_increment__gte=1) & Q(next_increment__gte=1),
                                   name="rate_increments_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix or '(default)'}: {self.price_per_unit_micros} micros"


class XdrStatus(models.TextChoices):
    RATED = "rated"
    ERROR = "error"


class Xdr(models.Model):
    """One usage record (call, data session, messages) as received, and how it was rated. Records
    that cannot be rated are kept with ``status=error`` and a reason, and re-rated after a fix."""

    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=100)
    service_type = models.CharField(max_length=16, choices=RatedService.choices, blank=True)
    # xDR references carry no database FOREIGN KEY (D42): three referential checks per row cost more than
    # the insert itself; rating resolved them in the same transaction, and accounts, rates and ledger
    # entries are never deleted (closed, replaced, append-only). No single-column index either: the
    # (account, started_at) index serves account lookups.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="xdrs",
                                db_index=False, db_constraint=False)
    caller = models.CharField(max_length=32, blank=True)
    callee = models.CharField(max_length=32, blank=True)
    login = models.CharField(max_length=100, blank=True)
    bytes = models.BigIntegerField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    destination = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    raw = models.JSONField(default=dict)  # the record as received: re-rating re-reads it
    status = models.CharField(max_length=8, choices=XdrStatus.choices)
    error_code = models.CharField(max_length=32, blank=True)
    error_reason = models.CharField(max_length=300, blank=True)
    # Not indexed (every index costs each of millions of inserts): rates are replaced, never deleted.
    rate = models.ForeignKey(Rate, on_delete=models.PROTECT, null=True, blank=True, related_name="xdrs",
                             db_index=False, db_constraint=False)
    billed_quantity = models.BigIntegerField(default=0)  # base units after increments
    allowance_used = models.BigIntegerField(default=0)  # base units taken from allowances
    offpeak = models.BooleanField(default=False)  # the rate's off-peak terms were applied
    cost_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    ledger_entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="xdrs", db_constraint=False)
    received_at = models.DateTimeField()
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        # Errors are few and looked up by status; rated xDRs are not in that index at all.
        indexes = [models.Index(fields=["status"], condition=Q(status="error"), name="xdr_errors_idx"),
                   models.Index(fields=["account", "started_at"])]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="xdr_source_external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class AllowanceUsage(models.Model):
    """How much of a plan allowance one subscription has used in one of its periods (base units:
    seconds, KB, messages). Consumed with a conditional UPDATE (``used + n <= granted``)."""

    assignment = models.ForeignKey(AccountProduct, on_delete=models.PROTECT, related_name="allowance_usage")
    allowance = models.ForeignKey(PlanAllowance, on_delete=models.PROTECT, related_name="usage")
    period_index = models.IntegerField()
    period_start = models.DateField()
    period_end = models.DateField()  # exclusive
    granted = models.BigIntegerField()
    used = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["assignment_id", "period_index"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "allowance", "period_index"],
                                    name="allowance_usage_period_unique"),
            models.CheckConstraint(condition=Q(used__gte=0) & Q(used__lte=models.F("granted")),
                                   name="allowance_usage_within_granted"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.allowance} period {self.period_index}: {self.used}/{self.granted}"
