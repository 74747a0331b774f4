"""Which payment provider tripleplay talks to (settings.TRIPLEPLAY_PAYMENT_PROVIDER)."""

from __future__ import annotations

from django.conf import settings

from tripleplay.core.errors import Conflict
from tripleplay.payments.providers.base import PaymentProvider


class PaymentsNotConfigured(Conflict):
    code = "payments_not_configured"


def configured() -> bool:
    """Whether online payments can be offered (the edges hide their buttons otherwise)."""
    return settings.TRIPLEPLAY_PAYMENT_PROVIDER == "stripe" and bool(settings.TRIPLEPLAY_STRIPE_SECRET_KEY)


def provider() -> PaymentProvider:
    name = settings.TRIPLEPLAY_PAYMENT_PROVIDER
    if name == "stripe":
        if not settings.TRIPLEPLAY_STRIPE_SECRET_KEY:
            raise PaymentsNotConfigured("online payments are not configured: set TRIPLEPLAY_STRIPE_SECRET_KEY")
        from tripleplay.payments.providers.stripe_provider import StripeProvider

        return StripeProvider.from_settings()
    raise PaymentsNotConfigured(f"unknown payment provider {name!r} (TRIPLEPLAY_PAYMENT_PROVIDER)")
