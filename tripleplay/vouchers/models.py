"""Vouchers (top-up cards): batches the operator generates, the codes in them, the IVR clients that
redeem them by phone, and the failed attempts that throttle guessing (docs/vouchers.md).

A code's plain text is never stored: only its keyed hash (``codes.code_hash``). A voucher is
redeemed once: ``redeemed_at`` goes from NULL to a time in one conditional UPDATE (services.redeem),
and the CHECK constraint keeps a redeemed voucher's customer and ledger entry together.
"""

from django.db import models
from django.db.models import Q

from tripleplay.core.models import ActorFields
from tripleplay.customers.models import Account, Customer


class VoucherBatch(ActorFields):
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    value_minor = models.BigIntegerField()
    count = models.PositiveIntegerField()
    # The last moment a code of the batch can be redeemed (exclusive).
    expires_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_by = models.CharField(max_length=150, blank=True)
    # A retried create finds its batch instead of printing a second one (its codes are not shown again).
    idempotency_key = models.CharField(max_length=128, unique=True)
    request_fingerprint = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(value_minor__gt=0), name="voucherbatch_value_gt_0"),
            models.CheckConstraint(condition=Q(count__gt=0), name="voucherbatch_count_gt_0"),
            models.CheckConstraint(condition=Q(is_active=True) | Q(disabled_at__isnull=False),
                                   name="voucherbatch_disabled_has_time"),
        ]

    def __str__(self) -> str:
        return f"voucher batch #{self.pk} {self.name}"


class Voucher(models.Model):
    batch = models.ForeignKey(VoucherBatch, on_delete=models.PROTECT, related_name="vouchers")
    serial = models.PositiveIntegerField()  # printed on the card beside the code: 1..count in its batch
    code_hash = models.CharField(max_length=64, unique=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="vouchers")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                db_index=False)
    # The payment entry the redemption wrote (ledger.LedgerEntry id; no FK: vouchers never joins it).
    entry_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=16, blank=True)  # api, ivr, portal, web
    redeemed_by = models.CharField(max_length=200, blank=True)  # the actor, as text

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "serial"], name="voucher_batch_serial_unique"),
            models.CheckConstraint(
                condition=(Q(redeemed_at__isnull=True, customer__isnull=True)
                           | Q(redeemed_at__isnull=False, customer__isnull=False)),
                name="voucher_redeemed_has_customer"),
        ]
        indexes = [models.Index(fields=["redeemed_at"], name="voucher_redeemed_at")]

    def __str__(self) -> str:
        return f"voucher {self.batch_id}/{self.serial}"


class IvrClient(models.Model):
    """An IVR platform that redeems vouchers by phone. Its own token (shown once, stored as SHA-256:
    256 random bits need no slow hash), so it can do nothing else of the API."""

    name = models.CharField(max_length=100, unique=True)
    token_prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class FailedRedemption(models.Model):
    """One refused attempt, counted per scope ("customer:12", "api_client:3", "ivr:1", ...) to
    throttle guessing. Old rows only age out of the window; ``purge_failures`` deletes them."""

    scope = models.CharField(max_length=80)
    at = models.DateTimeField()
    reason = models.CharField(max_length=40)

    class Meta:
        indexes = [models.Index(fields=["scope", "at"], name="failedredemption_scope_at")]

    def __str__(self) -> str:
        return f"{self.scope} {self.reason} at {self.at:%Y-%m-%d %H:%M:%S}"
