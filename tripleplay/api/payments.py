"""Online payments (docs/payments.md): hosted checkouts, stored payment methods, auto-pay, online
payments and their refunds, and the provider's webhook.

The webhook (POST /payments/stripe/webhook) has no token: the provider proves itself with the
``Stripe-Signature`` header, checked with the endpoint secret; a forged, tampered or replayed (too old)
event is 400 ``webhook_signature_invalid``, an event that does not match what tripleplay asked for
(amount, currency, customer) is 400 ``webhook_mismatch``; either writes nothing. A redelivered event
is 200 and writes nothing either.
"""

from datetime import datetime

from ninja import Field, Router, Schema
from ninja.pagination import paginate

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.ledger import IdempotencyKey, _key
from tripleplay.api.pagination import BoundedPagination
from tripleplay.api.permissions import OPERATIONS, READERS, require
from tripleplay.api.schemas import ActorOut, ErrorOut, Id, IdParam, In, MoneyOut, PositiveMinor, Text, minor
from tripleplay.core.errors import InvalidInput
from tripleplay.customers import selectors as customer_selectors
from tripleplay.invoicing import selectors as invoicing_selectors
from tripleplay.money import Money
from tripleplay.payments import selectors, services

router = Router(tags=["payments"])

ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 502: ErrorOut}


class CheckoutIn(In):
    invoice_id: Id | None = Field(None, description="pay this open invoice (its open amount)")
    amount_minor: PositiveMinor | None = Field(None, description="or: a top-up of this amount")
    save_method: bool = Field(False, description="also save the card for auto-pay")


class CheckoutOut(Schema):
    id: int
    customer_id: int
    purpose: str
    invoice_id: int | None
    amount: MoneyOut | None
    provider: str
    provider_session_id: str
    url: str = Field(description="the provider's hosted checkout page: send the customer there")
    status: str
    created_at: datetime
    actor: ActorOut

    @staticmethod
    def resolve_amount(obj) -> dict | None:
        return minor(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_actor(obj) -> dict:
        return {"kind": obj.actor_kind, "name": obj.actor_name}


class MethodOut(Schema):
    id: int
    provider: str
    provider_method_id: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    created_at: datetime


class AutopayIn(In):
    enabled: bool
    payment_method_id: Id | None = Field(None, description="default: the newest stored method")


class AutopayOut(Schema):
    customer_id: int
    provider_customer_id: str
    autopay: bool
    default_method: MethodOut | None


class PaymentOut(Schema):
    id: int
    customer_id: int
    provider: str
    provider_payment_id: str
    source: str
    invoice_id: int | None
    amount: MoneyOut
    refunded: MoneyOut
    entry_id: int
    created_at: datetime

    @staticmethod
    def resolve_amount(obj) -> dict:
        return minor(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_refunded(obj) -> dict:
        return minor(obj.refunded_minor, obj.currency)


class OnlineRefundIn(In):
    amount_minor: PositiveMinor
    reason: Text


class RefundOut(Schema):
    id: int
    payment_id: int
    amount: MoneyOut
    reason: str
    status: str
    provider_refund_id: str
    entry_id: int
    reversal_id: int | None
    error: str
    created_at: datetime

    @staticmethod
    def resolve_amount(obj) -> dict:
        return minor(obj.amount_minor, obj.payment.currency)


class AutopayAttemptOut(Schema):
    id: int
    invoice_id: int
    number: int
    amount: MoneyOut
    outcome: str
    final: bool
    provider_payment_id: str
    decline_code: str
    message: str
    at: datetime

    @staticmethod
    def resolve_amount(obj) -> dict:
        return minor(obj.amount_minor, obj.currency)


class WebhookOut(Schema):
    received: bool
    outcome: str


@router.post("/customers/{customer_id}/checkout", response={201: CheckoutOut, **ERRORS})
@idempotent_create()
def start_checkout(request, customer_id: IdParam, payload: CheckoutIn):
    """Start a hosted checkout for an open invoice or a top-up; answer its URL for the customer."""
    actor = require(request, *OPERATIONS)
    customer = customer_selectors.customer(customer_id)
    if (payload.invoice_id is None) == (payload.amount_minor is None):
        raise InvalidInput("give either invoice_id or amount_minor", code="checkout_target")
    invoice = invoicing_selectors.get_invoice(payload.invoice_id) if payload.invoice_id else None
    amount = Money(payload.amount_minor, customer.currency) if payload.amount_minor else None
    return 201, services.start_checkout(actor, customer, invoice=invoice, amount=amount,
                                        save_method=payload.save_method)


@router.post("/customers/{customer_id}/payment-methods/setup", response={201: CheckoutOut, **ERRORS})
@idempotent_create()
def start_setup(request, customer_id: IdParam):
    """Start a hosted checkout that only saves a card (for auto-pay)."""
    actor = require(request, *OPERATIONS)
    return 201, services.start_setup(actor, customer_selectors.customer(customer_id))


@router.get("/customers/{customer_id}/payment-methods", response={200: list[MethodOut], **ERRORS})
def list_methods(request, customer_id: IdParam):
    """Stored payment methods: provider tokens and what the provider shows (brand, last 4), no card data."""
    require(request, *READERS)
    return list(selectors.payment_methods(customer_selectors.customer(customer_id)))


@router.get("/customers/{customer_id}/autopay", response={200: AutopayOut, **ERRORS})
def get_autopay(request, customer_id: IdParam):
    require(request, *READERS)
    return _autopay_out(customer_selectors.customer(customer_id))


@router.put("/customers/{customer_id}/autopay", response={200: AutopayOut, **ERRORS})
def put_autopay(request, customer_id: IdParam, payload: AutopayIn):
    actor = require(request, *OPERATIONS)
    customer = customer_selectors.customer(customer_id)
    method = selectors.payment_method(customer, payload.payment_method_id) if payload.payment_method_id else None
    services.set_autopay(actor, customer, enabled=payload.enabled, method=method)
    return _autopay_out(customer)


def _autopay_out(customer) -> dict:
    profile = selectors.profile_of(customer)
    if profile is None:
        return {"customer_id": customer.pk, "provider_customer_id": "", "autopay": False, "default_method": None}
    return {"customer_id": customer.pk, "provider_customer_id": profile.provider_customer_id,
            "autopay": profile.autopay, "default_method": profile.default_method}


@router.get("/customers/{customer_id}/online-payments", response={200: list[PaymentOut], **ERRORS})
@paginate(BoundedPagination)
def list_payments(request, customer_id: IdParam):
    """Newest first."""
    require(request, *READERS)
    return selectors.online_payments(customer_selectors.customer(customer_id))


@router.get("/customers/{customer_id}/autopay-attempts", response={200: list[AutopayAttemptOut], **ERRORS})
@paginate(BoundedPagination)
def list_attempts(request, customer_id: IdParam):
    """Newest first: every off-session charge of an invoice, with the provider's decline."""
    require(request, *READERS)
    return selectors.autopay_attempts(customer_selectors.customer(customer_id))


@router.post("/online-payments/{payment_id}/refunds", response={201: RefundOut, **ERRORS})
def refund(request, payment_id: IdParam, payload: OnlineRefundIn, idempotency_key: str | None = IdempotencyKey):
    """Refund (part of) an online payment: the ledger refund, then the provider's. ``status`` is
    succeeded, pending (the provider could not be reached: sent again by the auto-pay job) or failed
    (the provider refused: the ledger refund was reversed by a credit)."""
    actor = require(request, *OPERATIONS)
    key = _key(idempotency_key)
    payment = selectors.online_payment(payment_id)
    return 201, services.refund_online_payment(actor, payment, Money(payload.amount_minor, payment.currency),
                                               reason=payload.reason, idempotency_key=key)


@router.post("/payments/stripe/webhook", auth=None, response={200: WebhookOut, 400: ErrorOut, 409: ErrorOut},
             tags=["payments (provider)"])
def stripe_webhook(request):
    """Stripe's events, signed (Stripe-Signature). Forged, replayed, wrong-amount and wrong-customer
    events are 400 and write nothing; a redelivery is 200 and writes nothing."""
    outcome = services.handle_event(request.body, request.headers.get("Stripe-Signature"))
    return 200, {"received": True, "outcome": outcome}
