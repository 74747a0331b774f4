"""Invoices (docs/invoicing.md).

- ``BillingSchedule``: one row per customer, the next billing period to close. The invoice run claims
  these rows (PostgreSQL: ``FOR UPDATE SKIP LOCKED``) and moves them on in the invoice's transaction,
  so a crash, a rerun or a second process can never close a period twice or skip one.
- ``InvoiceSeries``: the counter of a numbering series, locked and moved in the transaction that
  inserts the invoices: a rollback returns the numbers, so numbers are gapless.
- ``Invoice``: an issued document (an invoice or a credit note). Its content never changes once
  issued; only its settlement (``settled_minor``, ``status``) and the stored PDF's fields are written
  later. Corrections: ``void_invoice`` issues a credit note.
- ``InvoiceLine``: one printed line (amounts in the "owed" direction: a charge is positive, a credit
  or a payment negative), with its tax computed per line.
- ``InvoicedEntry``: which ledger entry is on which document. Ledger entries are append-only, so the
  mark lives here; the primary key (the entry) makes it impossible to invoice an entry twice. It names
  the document, not the line (D60).
"""

from django.db import models
from django.db.models import Q

from tripleplay.core.models import ActorFields
from tripleplay.customers.models import Customer
from tripleplay.ledger.models import LedgerEntry


class DocumentKind(models.TextChoices):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceStatus(models.TextChoices):
    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"
    ISSUED = "issued"  # credit notes: nothing to pay


OPEN_STATUSES = (InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)


class Section(models.TextChoices):
    SUBSCRIPTIONS = "subscriptions"
    USAGE = "usage"
    PPV = "ppv"
    ONE_OFF = "one_off"
    CREDITS = "credits"
    ADJUSTMENTS = "adjustments"
    PAYMENTS = "payments"
    CREDIT_NOTE = "credit_note"


class BillingSchedule(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, primary_key=True, related_name="+")
    next_period_start = models.DateField()
    next_period_end = models.DateField(db_index=True)  # exclusive; due once the run's date reaches it
    # What the customer owed after its last document (the next one's opening balance; negative: in credit).
    balance_minor = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"customer #{self.customer_id}: next period {self.next_period_start}..{self.next_period_end}"


class InvoiceSeries(models.Model):
    code = models.CharField(max_length=16, primary_key=True)
    prefix = models.CharField(max_length=16)
    next_number = models.BigIntegerField(default=1)

    class Meta:
        verbose_name_plural = "invoice series"
        constraints = [models.CheckConstraint(condition=Q(next_number__gte=1), name="invoice_series_next_gte_1")]

    def __str__(self) -> str:
        return f"{self.code} (next {self.next_number})"


class Invoice(ActorFields):
    # No index of its own (D61): the (customer, issue_date) index serves every lookup by customer.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices", db_index=False)
    kind = models.CharField(max_length=12, choices=DocumentKind.choices, default=DocumentKind.INVOICE)
    series = models.CharField(max_length=16)
    number = models.BigIntegerField()
    number_text = models.CharField(max_length=32)  # unique: invoice_number_text_once (D61)
    out_of_turn = models.BooleanField(default=False)
    credit_note_for = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="credit_note")
    period_start = models.DateField()
    period_end = models.DateField()  # exclusive
    issue_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4)  # percent, the customer's at issue
    rounding = models.CharField(max_length=16)  # decimal.ROUND_* mode used for each line's tax
    opening_balance_minor = models.BigIntegerField()  # owed before this document (negative: in credit)
    payments_minor = models.BigIntegerField()  # received in the period (payments less refunds)
    subtotal_minor = models.BigIntegerField()  # charges, credits and adjustments before tax
    tax_minor = models.BigIntegerField()
    total_minor = models.BigIntegerField()  # subtotal + tax: this document's own amount
    amount_due_minor = models.BigIntegerField()  # opening - payments + total
    settled_minor = models.BigIntegerField(default=0)  # paid towards total (oldest invoice first)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices)
    bill_to = models.JSONField(default=dict)  # the customer's name and address as printed
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)  # every write sets it (D250)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)
    pdf_path = models.CharField(max_length=300, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["customer", "issue_date"]), models.Index(fields=["status", "due_date"])]
        constraints = [
            models.UniqueConstraint(fields=["series", "number"], name="invoice_number_once_per_series"),
            # A constraint rather than unique=True: the same unique index, without the second
            # varchar_pattern_ops index PostgreSQL gets for LIKE queries, which nothing runs (D61).
            models.UniqueConstraint(fields=["number_text"], name="invoice_number_text_once"),
            # A billing period is closed once: the run's idempotency, whatever the number of runs.
            models.UniqueConstraint(fields=["customer", "period_start"],
                                    condition=Q(kind="invoice", out_of_turn=False), name="invoice_period_once"),
            models.CheckConstraint(condition=Q(settled_minor__gte=0), name="invoice_settled_gte_0"),
            models.CheckConstraint(condition=Q(total_minor=models.F("subtotal_minor") + models.F("tax_minor")),
                                   name="invoice_total_is_subtotal_plus_tax"),
        ]

    def __str__(self) -> str:
        return self.number_text

    @property
    def open_minor(self) -> int:
        return max(0, self.total_minor - self.settled_minor) if self.status != InvoiceStatus.VOID else 0


class InvoiceLine(models.Model):
    # No index of its own (D61): the unique (invoice, position) index serves every lookup by invoice.
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines", db_index=False)
    position = models.PositiveIntegerField()
    section = models.CharField(max_length=16, choices=Section.choices)
    service_type = models.CharField(max_length=16, blank=True)
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    amount_minor = models.BigIntegerField()  # owed direction: charges +, credits and payments -
    tax_minor = models.BigIntegerField(default=0)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)  # exclusive

    class Meta:
        ordering = ["invoice_id", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position_once")]

    def __str__(self) -> str:
        return f"{self.invoice_id}/{self.position} {self.description} {self.amount_minor}"


class InvoicedEntry(models.Model):
    # No database FOREIGN KEY to the entry (D260), as an xDR's (D42): its deferred check locked every
    # invoiced entry's row FOR KEY SHARE at commit, a WAL record and a dirtied page of the month-old
    # ledger per entry (a full-page image after each checkpoint: a quarter of the run's WAL). The run
    # marks only entries it read or posted in the same transaction, and entries are never deleted
    # (the ledger's append-only trigger). The primary key still makes an entry invoiceable once.
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, primary_key=True, related_name="invoiced",
                                 db_constraint=False)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="entries")
    # No link to the line (D60): which line an entry is on follows from the entries on the invoice
    # (lines.build_lines is a pure function of them), and the link cost the run one row reference,
    # one index insertion and one foreign key check per entry.

    class Meta:
        verbose_name_plural = "invoiced entries"

    def __str__(self) -> str:
        return f"entry #{self.entry_id} on invoice #{self.invoice_id}"
