"""The payment provider interface: what tripleplay needs from any provider (hosted checkout, stored
methods, off-session charges, refunds, signed events), in plain records. One implementation today:
Stripe (stripe_provider.py); another provider is another module registered in ``__init__.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class ProviderError(Exception):
    """The provider refused (``permanent``) or could not be reached / failed (transient: retry with the
    same idempotency key)."""

    def __init__(self, message: str, *, permanent: bool, code: str = ""):
        super().__init__(message)
        self.message, self.permanent, self.code = message, permanent, code


class CardDeclined(ProviderError):
    def __init__(self, message: str, *, decline_code: str, payment_id: str = ""):
        super().__init__(message, permanent=True, code="card_declined")
        self.decline_code, self.payment_id = decline_code, payment_id


class WebhookRefused(Exception):
    """An event that is not the provider's (bad or missing signature, too old: a replay) or unreadable."""


@dataclass(frozen=True)
class CheckoutRequest:
    provider_customer_id: str
    mode: str  # "payment" or "setup"
    currency: str  # ISO 4217, upper case
    amount_minor: int | None  # None for "setup"
    description: str
    success_url: str
    cancel_url: str
    metadata: dict[str, str]
    save_method: bool
    idempotency_key: str


@dataclass(frozen=True)
class StartedCheckout:
    session_id: str
    url: str


@dataclass(frozen=True)
class StoredMethod:
    method_id: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class Charged:
    payment_id: str
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Refunded:
    refund_id: str
    amount_minor: int


@dataclass(frozen=True)
class PaymentEvent:
    """A verified provider event, normalized. ``kind``: checkout_completed, payment_succeeded,
    payment_failed, refunded, or other (acknowledged, nothing done)."""

    event_id: str
    type: str
    kind: str
    object_id: str = ""
    mode: str = ""
    provider_customer_id: str | None = None
    amount_minor: int | None = None
    currency: str = ""
    paid: bool = False
    payment_id: str | None = None
    metadata: dict = field(default_factory=dict)


class PaymentProvider(Protocol):
    name: str

    def create_customer(self, *, name: str, email: str, customer_id: int, idempotency_key: str) -> str: ...

    def start_checkout(self, request: CheckoutRequest) -> StartedCheckout: ...

    def method_of_checkout(self, session_id: str) -> StoredMethod | None: ...

    def charge_off_session(self, *, provider_customer_id: str, method_id: str, amount_minor: int, currency: str,
                           metadata: dict[str, str], idempotency_key: str) -> Charged: ...

    def refund(self, *, payment_id: str, amount_minor: int, idempotency_key: str) -> Refunded: ...

    def parse_event(self, payload: bytes, signature: str | None) -> PaymentEvent: ...
