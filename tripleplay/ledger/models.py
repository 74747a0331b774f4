"""Ledger and funds.

- ``LedgerEntry``: append-only money movements. ``amount_minor`` is the signed effect on the
  customer's balance (payment and credit +, charge and refund -, adjustment either way). Nothing
  updates or deletes an entry (a database trigger refuses it; see migration 0002).
- ``Funds``: one row per customer, the maintained balance (always the sum of the entries), the
  credit limit (0 for prepaid) and the sum of active holds. It is the lock point for money: every
  money write is a conditional UPDATE of this row (docs/concurrency.md).
  available = balance + credit_limit - held.
- ``Hold``: a reservation of funds (a pay-per-view purchase between authorize and confirm).
"""

from django.db import models
from django.db.models import Q

from tripleplay.core.models import ActorFields
from tripleplay.customers.models import Account, Customer


class EntryKind(models.TextChoices):
    CHARGE = "charge"
    PAYMENT = "payment"
    CREDIT = "credit"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"


class Funds(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="funds", primary_key=True)
    currency = models.CharField(max_length=3)
    balance_minor = models.BigIntegerField(default=0)
    credit_limit_minor = models.BigIntegerField(default=0)
    held_minor = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "funds"
        constraints = [
            models.CheckConstraint(condition=Q(held_minor__gte=0), name="funds_held_gte_0"),
            models.CheckConstraint(condition=Q(credit_limit_minor__gte=0), name="funds_credit_limit_gte_0"),
        ]

    def __str__(self) -> str:
        return f"funds of customer #{self.customer_id}"

    @property
    def available_minor(self) -> int:
        return self.balance_minor + self.credit_limit_minor - self.held_minor


class LedgerEntry(ActorFields):
    # Every index here is written by every entry (a PPV confirm, each invoice line ...), so only the
    # ones a query needs: the customer's own index is the (customer, id) one below.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="entries", db_index=False)
    # No index of its own: no query selects entries by account (statements, invoices and the web go by
    # customer) and accounts are never deleted, so PROTECT never looks either.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="entries",
                                db_index=False)
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    balance_after_minor = models.BigIntegerField()
    description = models.CharField(max_length=200)
    reason = models.CharField(max_length=200, blank=True)
    # where it came from: manual, top_up, card, bank_transfer, subscription, usage, ppv, hold ...
    source = models.CharField(max_length=32, blank=True)
    reference = models.CharField(max_length=100, blank=True)  # external reference (receipt, bank ref)
    service_type = models.CharField(max_length=16, blank=True)  # for invoice grouping
    # Unique by the constraint below, not unique=True: on PostgreSQL that would add a second,
    # varchar_pattern_ops index for LIKE 'prefix%' queries, which nothing runs (docs/ppv.md, D52).
    idempotency_key = models.CharField(max_length=128)
    request_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["customer", "id"]), models.Index(fields=["customer", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="ledger_entry_idempotency_key_unique"),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["payment", "credit"], amount_minor__gt=0)
                    | Q(kind__in=["charge", "refund"], amount_minor__lt=0)
                    | (Q(kind="adjustment") & ~Q(amount_minor=0))
                ),
                name="entry_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.amount_minor} {self.currency}"


class HoldStatus(models.TextChoices):
    ACTIVE = "active"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


class Hold(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="holds")
    # No index of its own, as LedgerEntry.account: holds are read by customer, id or expiry.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="holds",
                                db_index=False)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    idempotency_key = models.CharField(max_length=128)  # unique: see Meta (and LedgerEntry's, why so)
    request_fingerprint = models.CharField(max_length=64)
    reference = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()  # the expiry sweep's index is on active holds only (Meta)
    settled_at = models.DateTimeField(null=True, blank=True)
    captured_minor = models.BigIntegerField(null=True, blank=True)
    # The capture's entry: at most one hold per entry (partial unique constraint in Meta; a
    # OneToOneField's index would also hold the NULL of every open hold). Entries are never deleted,
    # so PROTECT needs no index of its own.
    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              db_index=False)

    class Meta:
        ordering = ["id"]
        # A hold is written twice (placed, then captured or released; the status changes, so the
        # second is no HOT update and writes every index again): the expiry sweep's index holds only
        # active holds, so a settled hold adds no entry to it.
        indexes = [models.Index(fields=["expires_at"], condition=Q(status="active"), name="ledger_hold_active_expiry")]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="ledger_hold_idempotency_key_unique"),
            models.UniqueConstraint(fields=["entry"], condition=Q(entry__isnull=False), name="ledger_hold_entry_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="hold_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(captured_minor__isnull=True)
                | (Q(captured_minor__gt=0) & Q(captured_minor__lte=models.F("amount_minor"))),
                name="hold_capture_within_amount",
            ),
            models.CheckConstraint(
                condition=(Q(status="captured") & Q(captured_minor__isnull=False))
                | (~Q(status="captured") & Q(captured_minor__isnull=True)),
                name="hold_captured_has_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"hold #{self.pk} {self.amount_minor} {self.currency} {self.status}"
