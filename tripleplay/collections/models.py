"""Collections: what was done about an unpaid invoice, step by step (docs/invoicing.md, Collections).

One row per (invoice, policy step) done, or per lifted suspension: the history on the customer, and
what makes the collections job idempotent (a unique constraint)."""

from django.db import models

from tripleplay.core.models import ActorFields
from tripleplay.customers.models import Customer
from tripleplay.invoicing.models import Invoice
from tripleplay.ledger.models import LedgerEntry


class Action(models.TextChoices):
    REMINDER = "reminder"
    LATE_FEE = "late_fee"
    SUSPEND = "suspend"
    BLOCK = "block"
    LIFT = "lift"  # the suspension collections imposed, lifted by a payment


class Outcome(models.TextChoices):
    DONE = "done"
    SKIPPED = "skipped"  # e.g. suspend for a blocked or closed customer: nothing to do


class CollectionAction(ActorFields):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="collection_actions")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="collection_actions")
    day = models.IntegerField(null=True, blank=True)  # the step's day, counted from the due date
    action = models.CharField(max_length=10, choices=Action.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.DONE)
    detail = models.CharField(max_length=200, blank=True)
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["customer", "at"])]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "day", "action"], condition=models.Q(invoice__isnull=False),
                                    name="collection_step_once_per_invoice"),
        ]

    def __str__(self) -> str:
        return f"{self.action} (day {self.day}) for customer #{self.customer_id}: {self.outcome}"
