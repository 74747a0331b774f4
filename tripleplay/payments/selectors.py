"""Reads of the payments app, for the edges (API, operator UI) and, later, the subscriber portal."""

from __future__ import annotations

from django.db.models import QuerySet

from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Customer
from tripleplay.payments.models import (
    AutoPayAttempt,
    CheckoutSession,
    OnlinePayment,
    OnlineRefund,
    PaymentMethod,
    PaymentProfile,
)


def profile_of(customer: Customer) -> PaymentProfile | None:
    return PaymentProfile.objects.select_related("default_method").filter(customer=customer).first()


def payment_methods(customer: Customer) -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.filter(customer=customer, removed_at__isnull=True)


def payment_method(customer: Customer, method_id: int) -> PaymentMethod:
    method = payment_methods(customer).filter(pk=method_id).first()
    if method is None:
        raise NotFound(f"payment method {method_id} does not exist for this customer")
    return method


def online_payments(customer: Customer) -> QuerySet[OnlinePayment]:
    return OnlinePayment.objects.filter(customer=customer).select_related("invoice", "entry")


def online_payment(payment_id: int) -> OnlinePayment:
    try:
        return OnlinePayment.objects.select_related("customer").get(pk=payment_id)
    except (OnlinePayment.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"online payment {payment_id} does not exist") from None


def refunds_of(customer: Customer) -> QuerySet[OnlineRefund]:
    return OnlineRefund.objects.filter(payment__customer=customer).select_related("payment")


def checkout_sessions(customer: Customer) -> QuerySet[CheckoutSession]:
    return CheckoutSession.objects.filter(customer=customer).select_related("invoice")


def checkout_by_provider_id(session_id: str) -> CheckoutSession | None:
    return CheckoutSession.objects.filter(provider_session_id=session_id).first()


def autopay_attempts(customer: Customer) -> QuerySet[AutoPayAttempt]:
    return AutoPayAttempt.objects.filter(customer=customer).select_related("invoice", "method")


def online_payments_enabled() -> bool:
    """Whether a provider is configured, so that "Pay online" and "Top up" may be offered."""
    from tripleplay.payments.providers import configured

    return configured()
