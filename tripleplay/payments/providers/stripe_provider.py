"""Stripe, through the official ``stripe`` package (StripeClient), pointed at
settings.TRIPLEPLAY_STRIPE_API_BASE (the local simulator in tests and the demo). Explicit timeout
(HTTPXClient), network retries with Stripe's own backoff, and an Idempotency-Key on every POST, so a
retry never charges twice. References: https://docs.stripe.com/api (Checkout Sessions,
PaymentIntents, SetupIntents, PaymentMethods, Refunds, errors) and https://docs.stripe.com/webhooks
(signatures, verified with stripe's own ``Webhook.construct_event``)."""

from __future__ import annotations

from functools import lru_cache

import stripe
from django.conf import settings

from tripleplay.payments.providers.base import (
    CardDeclined,
    Charged,
    CheckoutRequest,
    PaymentEvent,
    ProviderError,
    Refunded,
    StartedCheckout,
    StoredMethod,
    WebhookRefused,
)

EVENT_KINDS = {"checkout.session.completed": "checkout_completed", "payment_intent.succeeded": "payment_succeeded",
               "payment_intent.payment_failed": "payment_failed", "charge.refunded": "refunded"}


def _error(e: stripe.StripeError) -> ProviderError:
    if isinstance(e, stripe.CardError):
        body = (e.json_body or {}).get("error", {})
        pi = body.get("payment_intent") or {}
        return CardDeclined(e.user_message or str(e), decline_code=body.get("decline_code") or e.code or "",
                            payment_id=pi.get("id", ""))
    transient = isinstance(e, (stripe.APIConnectionError, stripe.RateLimitError)) or (
        e.http_status is not None and e.http_status >= 500)
    return ProviderError(e.user_message or str(e), permanent=not transient, code=e.code or type(e).__name__)


class StripeProvider:
    name = "stripe"

    def __init__(self, *, secret_key: str, api_base: str, webhook_secret: str, timeout: float, retries: int,
                 tolerance: int):
        http = stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True)
        self.client = stripe.StripeClient(secret_key, base_addresses={"api": api_base}, max_network_retries=retries,
                                          http_client=http)
        self.webhook_secret, self.tolerance = webhook_secret, tolerance

    @classmethod
    def from_settings(cls) -> StripeProvider:
        return _cached(settings.TRIPLEPLAY_STRIPE_SECRET_KEY, settings.TRIPLEPLAY_STRIPE_API_BASE,
                       settings.TRIPLEPLAY_STRIPE_WEBHOOK_SECRET, settings.TRIPLEPLAY_STRIPE_TIMEOUT_SECONDS,
                       settings.TRIPLEPLAY_STRIPE_MAX_RETRIES, settings.TRIPLEPLAY_STRIPE_WEBHOOK_TOLERANCE_SECONDS)

    def create_customer(self, *, name: str, email: str, customer_id: int, idempotency_key: str) -> str:
        params = {"name": name, "metadata": {"tripleplay_customer": str(customer_id)}}
        if email:
            params["email"] = email
        try:
            return self.client.v1.customers.create(params, {"idempotency_key": idempotency_key}).id
        except stripe.StripeError as e:
            raise _error(e) from e

    def start_checkout(self, request: CheckoutRequest) -> StartedCheckout:
        params: dict = {"mode": request.mode, "customer": request.provider_customer_id,
                        "success_url": request.success_url, "cancel_url": request.cancel_url,
                        "metadata": request.metadata}
        if request.mode == "payment":
            params["line_items"] = [{"quantity": 1, "price_data": {
                "currency": request.currency.lower(), "unit_amount": request.amount_minor,
                "product_data": {"name": request.description}}}]
            params["payment_intent_data"] = {"metadata": request.metadata}
            if request.save_method:
                params["payment_intent_data"]["setup_future_usage"] = "off_session"
        else:
            params["currency"] = request.currency.lower()
        try:
            session = self.client.v1.checkout.sessions.create(params, {"idempotency_key": request.idempotency_key})
        except stripe.StripeError as e:
            raise _error(e) from e
        return StartedCheckout(session.id, session.url)

    def method_of_checkout(self, session_id: str) -> StoredMethod | None:
        """The payment method a completed checkout saved (setup mode, or payment with
        setup_future_usage), or None."""
        try:
            session = self.client.v1.checkout.sessions.retrieve(session_id)
            if session.mode == "setup" and session.setup_intent:
                method_id = self.client.v1.setup_intents.retrieve(session.setup_intent).payment_method
            elif session.payment_intent:
                pi = self.client.v1.payment_intents.retrieve(session.payment_intent)
                method_id = pi.payment_method if pi.setup_future_usage else None
            else:
                method_id = None
            if not method_id:
                return None
            pm = self.client.v1.payment_methods.retrieve(method_id)
        except stripe.StripeError as e:
            raise _error(e) from e
        card = pm.to_dict().get("card") or {}
        return StoredMethod(pm.id, card.get("brand", pm.type), card.get("last4", ""), card.get("exp_month"),
                            card.get("exp_year"))

    def charge_off_session(self, *, provider_customer_id: str, method_id: str, amount_minor: int, currency: str,
                           metadata: dict[str, str], idempotency_key: str) -> Charged:
        params = {"amount": amount_minor, "currency": currency.lower(), "customer": provider_customer_id,
                  "payment_method": method_id, "confirm": True, "off_session": True, "metadata": metadata}
        try:
            pi = self.client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as e:
            raise _error(e) from e
        if pi.status != "succeeded":
            raise CardDeclined(f"the payment is {pi.status}", decline_code=pi.status, payment_id=pi.id)
        return Charged(pi.id, pi.amount, pi.currency.upper())

    def refund(self, *, payment_id: str, amount_minor: int, idempotency_key: str) -> Refunded:
        try:
            r = self.client.v1.refunds.create({"payment_intent": payment_id, "amount": amount_minor},
                                              {"idempotency_key": idempotency_key})
        except stripe.StripeError as e:
            raise _error(e) from e
        if r.status not in ("succeeded", "pending"):
            raise ProviderError(f"the refund is {r.status}", permanent=True, code=r.status or "")
        return Refunded(r.id, r.amount)

    def parse_event(self, payload: bytes, signature: str | None) -> PaymentEvent:
        if not self.webhook_secret:  # an empty key would make any HMAC "verify"
            raise WebhookRefused("no endpoint secret is configured (TRIPLEPLAY_STRIPE_WEBHOOK_SECRET)")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret, tolerance=self.tolerance)
        except stripe.SignatureVerificationError as e:
            raise WebhookRefused(f"signature: {e.user_message or e}") from e
        except ValueError as e:
            raise WebhookRefused(f"unreadable event: {e}") from e
        obj = event.to_dict()["data"]["object"]  # plain JSON values (StripeObjects are not dicts)
        kind = EVENT_KINDS.get(event.type, "other")
        common = {"event_id": event.id, "type": event.type, "kind": kind, "object_id": obj.get("id") or "",
                  "metadata": dict(obj.get("metadata") or {}), "provider_customer_id": obj.get("customer")}
        if kind == "checkout_completed":
            return PaymentEvent(**common, mode=obj.get("mode") or "", amount_minor=obj.get("amount_total"),
                                currency=(obj.get("currency") or "").upper(), paid=obj.get("payment_status") == "paid",
                                payment_id=obj.get("payment_intent"))
        if kind in ("payment_succeeded", "payment_failed"):
            return PaymentEvent(**common, amount_minor=obj.get("amount_received") or obj.get("amount"),
                                currency=(obj.get("currency") or "").upper(), paid=obj.get("status") == "succeeded",
                                payment_id=obj.get("id"))
        if kind == "refunded":
            return PaymentEvent(**common, amount_minor=obj.get("amount_refunded"),
                                currency=(obj.get("currency") or "").upper(), payment_id=obj.get("payment_intent"))
        return PaymentEvent(**common)


@lru_cache(maxsize=4)
def _cached(*args) -> StripeProvider:
    key, base, secret, timeout, retries, tolerance = args
    return StripeProvider(secret_key=key, api_base=base, webhook_secret=secret, timeout=timeout, retries=retries,
                          tolerance=tolerance)
