"""Pay-per-view purchases: one row per platform transaction, from authorization to its end.

A row is written for every authorization, approved or declined, keyed by the platform's own
transaction id (unique per platform): a retry of any call finds the row and returns the answer
stored on it, so nothing happens twice. An approved authorization holds the price on the
customer's funds (ledger Hold) until it is confirmed (the hold becomes a charge), cancelled or
expired (the hold is released).
"""

from django.db import models
from django.db.models import Q

from tripleplay.customers.models import Account, Customer
from tripleplay.iptv.models import Platform, PpvEvent
from tripleplay.ledger.models import Hold, LedgerEntry


class PurchaseStatus(models.TextChoices):
    DECLINED = "declined"
    AUTHORIZED = "authorized"  # funds held, waiting for confirm or cancel
    CONFIRMED = "confirmed"  # charged
    CANCELLED = "cancelled"  # hold released on the platform's request
    EXPIRED = "expired"  # hold released: no confirm in time
    REFUNDED = "refunded"  # confirmed, then credited back by an operator


class PpvPurchase(models.Model):
    # No index of its own: the unique (platform, transaction_id) index starts with it. Every index is
    # written by every authorization and again by its confirm (the status changes), so each one kept
    # is one that a query needs (docs/ppv.md, Performance).
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="ppv_purchases", db_index=False)
    transaction_id = models.CharField(max_length=100)  # the platform's id for this purchase
    subscriber_ref = models.CharField(max_length=100)  # as the platform sent it
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="ppv_purchases")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="ppv_purchases", db_index=False)  # (customer, authorized_at) serves it
    event = models.ForeignKey(PpvEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="purchases")
    event_ref = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=200, blank=True)
    content_owner = models.CharField(max_length=200, blank=True)
    price_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=12, choices=PurchaseStatus.choices)
    decline_code = models.CharField(max_length=40, blank=True)
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, null=True, blank=True, related_name="ppv_purchase")
    # At most one purchase per entry, as a OneToOneField would say, but by partial unique constraints
    # (Meta): a OneToOneField's index also holds every NULL, i.e. every authorization would write two
    # index entries (charge, refund) that no query reads and its confirm one more. Entries are never
    # deleted (append-only), so PROTECT needs no index on these columns either.
    charge = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               db_index=False)
    refund_entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     db_index=False)
    charged_minor = models.BigIntegerField(null=True, blank=True)
    authorized_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The answers given, replayed verbatim to retries of the same call (authorize, confirm, cancel).
    answers = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "transaction_id"], name="ppv_transaction_unique"),
            models.UniqueConstraint(fields=["charge"], condition=Q(charge__isnull=False), name="ppv_charge_unique"),
            models.UniqueConstraint(fields=["refund_entry"], condition=Q(refund_entry__isnull=False),
                                    name="ppv_refund_entry_unique"),
            models.CheckConstraint(condition=Q(price_minor__isnull=True) | Q(price_minor__gte=0),
                                   name="ppv_price_gte_0"),
        ]
        indexes = [
            # The expiry job's: only open authorizations, so a confirm (status changes) adds no entry.
            models.Index(fields=["expires_at"], condition=Q(status="authorized"), name="ppv_open_expiry"),
            models.Index(fields=["customer", "authorized_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.platform_id}:{self.transaction_id} {self.status}"
