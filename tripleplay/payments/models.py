"""Online payments (docs/payments.md): what tripleplay asked a payment provider for, and what the
provider told it. Provider tokens only (a customer id, a payment method id): no card data.

Money itself is the ledger's: a payment here is recorded by ``ledger.services.record_payment`` and a
refund by ``ledger.services.refund``; these rows point at the ledger entries they caused."""

from django.db import models

from tripleplay.core.models import ActorFields
from tripleplay.customers.models import Customer
from tripleplay.invoicing.models import Invoice
from tripleplay.ledger.models import LedgerEntry


class PaymentProfile(models.Model):
    """A customer as the provider knows it, and whether issued invoices are charged automatically."""

    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, primary_key=True, related_name="+")
    provider = models.CharField(max_length=16)
    provider_customer_id = models.CharField(max_length=100, unique=True)
    autopay = models.BooleanField(default=False)
    default_method = models.ForeignKey("PaymentMethod", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(autopay=True, default_method__isnull=True),
                                   name="payment_profile_autopay_needs_method"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_customer_id} (customer #{self.customer_id})"


class PaymentMethod(models.Model):
    """A stored payment method: the provider's token and what the provider lets us show."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payment_methods")
    provider = models.CharField(max_length=16)
    provider_method_id = models.CharField(max_length=100, unique=True)
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.brand} ···· {self.last4}"


class Purpose(models.TextChoices):
    INVOICE = "invoice"
    TOP_UP = "top_up"
    SETUP = "setup"  # store a payment method, no money


class CheckoutStatus(models.TextChoices):
    OPEN = "open"
    COMPLETE = "complete"


class CheckoutSession(ActorFields):
    """A hosted checkout tripleplay started: exactly what it asked for (amount, currency, customer),
    which the webhook's event must match before anything is recorded."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="checkout_sessions")
    provider = models.CharField(max_length=16)
    provider_session_id = models.CharField(max_length=100, unique=True)
    provider_customer_id = models.CharField(max_length=100)
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount_minor = models.BigIntegerField(null=True, blank=True)  # null for a setup session
    currency = models.CharField(max_length=3)
    save_method = models.BooleanField(default=False)
    url = models.URLField(max_length=2000)
    status = models.CharField(max_length=8, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(purpose="setup", amount_minor__isnull=True)
                                   | models.Q(amount_minor__gt=0), name="checkout_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} checkout {self.provider_session_id}"


class Source(models.TextChoices):
    CHECKOUT = "checkout"
    AUTOPAY = "autopay"


class OnlinePayment(models.Model):
    """Money the provider took for us (one provider payment, e.g. a Stripe PaymentIntent), and the
    ledger payment it became."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="online_payments")
    provider = models.CharField(max_length=16)
    provider_payment_id = models.CharField(max_length=100, unique=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    checkout = models.OneToOneField(CheckoutSession, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="payment")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    refunded_minor = models.BigIntegerField(default=0)
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0, refunded_minor__gte=0,
                                                      refunded_minor__lte=models.F("amount_minor")),
                                   name="online_payment_refunds_within_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_payment_id} ({self.amount_minor} {self.currency})"

    @property
    def refundable_minor(self) -> int:
        return self.amount_minor - self.refunded_minor


class RefundStatus(models.TextChoices):
    PENDING = "pending"  # in the ledger; the provider not yet asked, or its answer lost (retried)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the provider refused: the ledger refund was reversed by a credit


class OnlineRefund(ActorFields):
    payment = models.ForeignKey(OnlinePayment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.BigIntegerField()
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    provider_refund_id = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=128, unique=True)  # the caller's: a retry finds this row
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+")
    reversal = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="online_refund_positive")]

    def __str__(self) -> str:
        return f"refund {self.provider_refund_id or '(pending)'} of {self.amount_minor}"


class AttemptOutcome(models.TextChoices):
    PENDING = "pending"  # claimed; the provider's answer not recorded yet (re-sent with the same key)
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    ERROR = "error"


class AutoPayAttempt(models.Model):
    """One off-session charge of an issued invoice (the auto-pay job), numbered per invoice."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField()  # 1, 2, ...
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices, default=AttemptOutcome.PENDING)
    final = models.BooleanField(default=False)  # the last attempt failed: the invoice is left to collections
    provider_payment_id = models.CharField(max_length=100, blank=True)
    decline_code = models.CharField(max_length=50, blank=True)
    message = models.CharField(max_length=300, blank=True)
    payment = models.OneToOneField(OnlinePayment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["invoice", "number"], name="autopay_attempt_once")]

    def __str__(self) -> str:
        return f"auto-pay #{self.number} of invoice #{self.invoice_id}: {self.outcome}"


class WebhookEvent(models.Model):
    """A provider event processed: its id makes a redelivery a no-op."""

    provider = models.CharField(max_length=16)
    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=60)
    outcome = models.CharField(max_length=200)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}: {self.outcome}"
