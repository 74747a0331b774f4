"""Subscription charges: one row per (subscription, kind, period) charged, beside its ledger entry.

The row is what makes charging idempotent whatever the number of runs (a unique constraint), and
what the schedule compares with to find what is still due (tripleplay.subscriptions.schedule).
A fee that could not be charged (a prepaid customer without funds) has no row: it stays due.
"""

from django.db import models
from django.db.models import Q

from tripleplay.customers.models import AccountProduct, Customer
from tripleplay.ledger.models import LedgerEntry


class ChargeKind(models.TextChoices):
    ACTIVATION = "activation"
    PERIODIC = "periodic"
    DAILY = "daily"
    UNUSED_CREDIT = "unused_credit"
    EARLY_CANCELLATION = "early_cancellation"
    HOLD_CREDIT = "hold_credit"  # a vacation hold's held days given back (subscriptions/holds.py)
    HOLD_CHARGE = "hold_charge"  # days not held after all (a hold cancelled or ended early after the charge)


class SubscriptionCharge(models.Model):
    assignment = models.ForeignKey(AccountProduct, on_delete=models.PROTECT, related_name="charges")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscription_charges")
    kind = models.CharField(max_length=20, choices=ChargeKind.choices)
    period_index = models.IntegerField()  # period n (day n for daily fees; 0 for one-off fees)
    amount_minor = models.BigIntegerField()  # > 0: charged, or given back for unused_credit
    currency = models.CharField(max_length=3)
    period_start = models.DateField()
    period_end = models.DateField()  # exclusive
    days = models.PositiveIntegerField()
    of_days = models.PositiveIntegerField()
    due_date = models.DateField()
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="subscription_charge")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["assignment_id", "due_date", "id"]
        indexes = [models.Index(fields=["customer", "due_date"])]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "kind", "period_index"], name="subscription_charge_once"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="subscription_charge_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.period_index} of assignment {self.assignment_id}: {self.amount_minor} {self.currency}"
