"""Online payments (docs/payments.md): every write of the payments app, one function per action.

- ``start_checkout`` / ``start_setup``: a hosted checkout at the provider for an invoice, a top-up or
  saving a card; the customer is sent its URL and comes back to ``/payments/return/``.
- ``handle_event``: the provider's signed webhook. The signature (and its age: a replay) is checked by
  the provider module; then the event must match what tripleplay asked for (amount, currency,
  customer), or it is refused and nothing is written. The payment goes through the ledger's one door
  (``ledger.services.record_payment``, which settles the oldest open invoices through its hooks),
  idempotent twice over: by the provider's event id (``WebhookEvent``) and by the provider's payment
  id (the ledger entry's key ``stripe:<payment id>``, the ``OnlinePayment``'s unique id).
- ``run_autopay``: issued invoices of customers with auto-pay on, charged off-session on their due date
  and retried on the days of settings.TRIPLEPLAY_AUTOPAY_RETRY_DAYS; every attempt is a row the
  operator sees; after the last decline the invoice is simply left open, and collections (which acts
  on overdue invoices) takes it from there.
- ``refund_online_payment``: the ledger refund first (it checks the customer's own money), then the
  provider's refund with an idempotency key; a provider refusal reverses the ledger refund with a
  credit, a provider that cannot be reached leaves the refund pending for the job to send again.

No provider call is made inside a database transaction: each is made before or after the short
transaction that records what it asked or what it answered.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, DomainError, IdempotencyConflict, InvalidInput
from tripleplay.core.idempotency import check_key
from tripleplay.customers.models import Customer, Status
from tripleplay.invoicing.models import OPEN_STATUSES, DocumentKind, Invoice
from tripleplay.ledger import services as ledger
from tripleplay.money import Money
from tripleplay.payments.models import (
    AttemptOutcome,
    AutoPayAttempt,
    CheckoutSession,
    CheckoutStatus,
    OnlinePayment,
    OnlineRefund,
    PaymentMethod,
    PaymentProfile,
    Purpose,
    RefundStatus,
    Source,
    WebhookEvent,
)
from tripleplay.payments.providers import provider
from tripleplay.payments.providers.base import (
    CardDeclined,
    Charged,
    CheckoutRequest,
    PaymentEvent,
    ProviderError,
    StoredMethod,
    WebhookRefused,
)

log = logging.getLogger("tripleplay.payments")

WEBHOOK_ACTOR = Actor.system("payment-webhook")


class ProviderFailed(DomainError):
    """The provider refused or could not be reached; nothing was recorded."""

    code = "payment_provider_error"
    http_status = 502


class WebhookSignatureInvalid(DomainError):
    code = "webhook_signature_invalid"
    http_status = 400


class WebhookMismatch(DomainError):
    """A genuine event that does not match what tripleplay asked for: refused, nothing written."""

    code = "webhook_mismatch"
    http_status = 400


def _provider_call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ProviderError as e:
        raise ProviderFailed(f"the payment provider answered: {e.message}",
                             details={"provider_code": e.code, "transient": not e.permanent}) from e


# -- the customer at the provider ---------------------------------------------------------------------


def ensure_profile(actor: Actor, customer: Customer) -> PaymentProfile:
    """The customer's record at the provider, created there on first use (idempotent by customer)."""
    existing = PaymentProfile.objects.filter(customer=customer).first()
    if existing is not None:
        return existing
    p = provider()
    provider_customer_id = _provider_call(p.create_customer, name=customer.name, email=customer.email or "",
                                          customer_id=customer.pk,
                                          # the customer's id and sign-up instant: one key per customer, even
                                          # across databases that reuse ids (tests, a restored backup)
                                          idempotency_key=f"tripleplay-customer-{customer.pk}-"
                                                          f"{customer.created_at.timestamp():.6f}")
    with transaction.atomic():
        profile, created = PaymentProfile.objects.get_or_create(
            customer=customer, defaults={"provider": p.name, "provider_customer_id": provider_customer_id,
                                         "created_at": clock.now()})
        if created:
            record(actor, "payments.profile_created", customer, provider=p.name,
                   provider_customer_id=provider_customer_id)
    return profile


# -- hosted checkout ------------------------------------------------------------------------------------


def return_urls(return_path: str = "/payments/return/") -> tuple[str, str]:
    """Where the provider sends the customer back: a path on this site (the subscriber portal passes
    its own), never another site (no open redirect)."""
    if not return_path.startswith("/") or return_path.startswith("//") or "\\" in return_path:
        raise InvalidInput("the return address must be a path on this site", details={"field": "return_path"})
    join = "&" if "?" in return_path else "?"
    base = settings.TRIPLEPLAY_PUBLIC_URL + return_path
    return f"{base}{join}session_id={{CHECKOUT_SESSION_ID}}", f"{base}{join}cancelled=1"


def start_checkout(actor: Actor, customer: Customer, *, invoice: Invoice | None = None, amount: Money | None = None,
                   save_method: bool = False, return_path: str = "/payments/return/") -> CheckoutSession:
    """A hosted checkout for an open invoice (its open amount) or for a top-up ``amount``; the
    customer comes back to ``return_path`` (a path on this site) with ``session_id`` or ``cancelled``."""
    if customer.status == Status.CLOSED:
        raise Conflict(f"customer #{customer.pk} is closed", code="customer_closed")
    if (invoice is None) == (amount is None):
        raise InvalidInput("give either an invoice or a top-up amount", code="checkout_target")
    if invoice is not None:
        if invoice.customer_id != customer.pk:
            raise InvalidInput("the invoice belongs to another customer", code="invoice_mismatch",
                               details={"field": "invoice_id"})
        if invoice.kind != DocumentKind.INVOICE or invoice.status not in OPEN_STATUSES or invoice.open_minor <= 0:
            raise Conflict(f"invoice {invoice.number_text} has nothing to pay ({invoice.status})",
                           code="invoice_not_open")
        amount = Money(invoice.open_minor, invoice.currency)
        purpose, description = Purpose.INVOICE, f"Invoice {invoice.number_text}"
    else:
        if amount.currency != customer.currency:
            raise InvalidInput(f"the customer pays in {customer.currency}", code="currency_mismatch")
        if amount.minor <= 0:
            raise InvalidInput("amount must be greater than zero", details={"field": "amount_minor"})
        purpose, description = Purpose.TOP_UP, f"Top-up for {customer.name}"[:120]
    return _checkout(actor, customer, purpose, amount, description, invoice=invoice, save_method=save_method,
                     return_path=return_path)


def start_setup(actor: Actor, customer: Customer, *, return_path: str = "/payments/return/") -> CheckoutSession:
    """A hosted checkout that only saves a payment method for later (auto-pay)."""
    if customer.status == Status.CLOSED:
        raise Conflict(f"customer #{customer.pk} is closed", code="customer_closed")
    return _checkout(actor, customer, Purpose.SETUP, None, "Save a card", invoice=None, save_method=True,
                     return_path=return_path)


def _checkout(actor: Actor, customer: Customer, purpose: str, amount: Money | None, description: str, *,
              invoice: Invoice | None, save_method: bool, return_path: str) -> CheckoutSession:
    success, cancel = return_urls(return_path)
    profile = ensure_profile(actor, customer)
    metadata = {"tripleplay_customer": str(customer.pk), "tripleplay_purpose": str(purpose)}
    if invoice is not None:
        metadata["tripleplay_invoice"] = invoice.number_text
    p = provider()
    started = _provider_call(p.start_checkout, CheckoutRequest(
        provider_customer_id=profile.provider_customer_id, mode="setup" if purpose == Purpose.SETUP else "payment",
        currency=customer.currency, amount_minor=amount.minor if amount else None, description=description,
        success_url=success, cancel_url=cancel, metadata=metadata, save_method=save_method,
        idempotency_key=f"tripleplay-checkout-{uuid.uuid4()}"))
    with transaction.atomic():
        session = CheckoutSession(customer=customer, provider=p.name, provider_session_id=started.session_id,
                                  provider_customer_id=profile.provider_customer_id, purpose=purpose, invoice=invoice,
                                  amount_minor=amount.minor if amount else None, currency=customer.currency,
                                  save_method=save_method, url=started.url, created_at=clock.now())
        session.set_actor(actor)
        session.save()
        record(actor, "payments.checkout_started", session, customer=customer.pk, purpose=str(purpose),
               amount_minor=session.amount_minor, currency=session.currency,
               invoice=invoice.number_text if invoice else None, provider_session_id=started.session_id)
    return session


# -- the webhook ----------------------------------------------------------------------------------------


def handle_event(payload: bytes, signature: str | None) -> str:
    """Verify and apply one provider event; returns what was done (for the answer and the log).
    Raises WebhookSignatureInvalid (forged, tampered or too old: a replay) or WebhookMismatch (an
    event that does not match what tripleplay asked for): in both cases nothing is written."""
    p = provider()
    try:
        event = p.parse_event(payload, signature)
    except WebhookRefused as e:
        raise WebhookSignatureInvalid(f"webhook refused: {e}") from e
    if WebhookEvent.objects.filter(event_id=event.event_id).exists():
        return "already processed"
    handler = {"checkout_completed": _on_checkout_completed, "payment_succeeded": _on_payment_succeeded,
               "refunded": _on_refunded}.get(event.kind)
    if handler is None:
        outcome = f"acknowledged ({event.type})"
        _remember(p.name, event, outcome)
        return outcome
    return handler(p, event)


def _remember(provider_name: str, event: PaymentEvent, outcome: str) -> bool:
    """The event's row, in the caller's transaction: False when another delivery recorded it first."""
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(provider=provider_name, event_id=event.event_id, type=event.type,
                                        outcome=outcome[:200], received_at=clock.now())
    except IntegrityError:
        return False
    return True


def _mismatch(what: str, expected, got) -> WebhookMismatch:
    return WebhookMismatch(f"the event's {what} does not match what tripleplay asked for",
                           details={"field": what, "expected": expected, "got": got})


def _check_customer(event: PaymentEvent, provider_customer_id: str, customer_id: int) -> None:
    if event.provider_customer_id != provider_customer_id:
        raise _mismatch("customer", provider_customer_id, event.provider_customer_id)
    meta = event.metadata.get("tripleplay_customer")
    if meta is not None and meta != str(customer_id):
        raise _mismatch("customer", str(customer_id), meta)


def _check_money(event: PaymentEvent, amount_minor: int, currency: str) -> None:
    if event.currency != currency:
        raise _mismatch("currency", currency, event.currency)
    if event.amount_minor != amount_minor:
        raise _mismatch("amount", amount_minor, event.amount_minor)


def _on_checkout_completed(p, event: PaymentEvent) -> str:
    session = CheckoutSession.objects.select_related("customer").filter(provider_session_id=event.object_id).first()
    if session is None:
        outcome = "ignored: not a checkout tripleplay started"
        _remember(p.name, event, outcome)
        return outcome
    _check_customer(event, session.provider_customer_id, session.customer_id)
    if session.purpose == Purpose.SETUP:
        if event.mode != "setup":
            raise _mismatch("mode", "setup", event.mode)
    else:
        _check_money(event, session.amount_minor, session.currency)
        if not event.paid or not event.payment_id:
            outcome = "acknowledged: not paid yet"
            _remember(p.name, event, outcome)
            return outcome
    # A provider that cannot answer now: 502, and the provider delivers the event again later.
    method = _provider_call(p.method_of_checkout, session.provider_session_id) if session.save_method else None
    with transaction.atomic():
        if not _remember(p.name, event, "processing"):
            return "already processed"
        outcome = "checkout completed"
        if method is not None:
            _store_method(session.customer, p.name, method)
            outcome += f"; method {method.brand} {method.last4} saved"
        if session.purpose != Purpose.SETUP:
            payment = _record_payment(session.customer, p.name, event.payment_id, session.amount_minor,
                                      session.currency, source=Source.CHECKOUT, checkout=session,
                                      invoice=session.invoice)
            outcome += f"; payment {payment.provider_payment_id} recorded (entry #{payment.entry_id})"
        CheckoutSession.objects.filter(pk=session.pk).update(status=CheckoutStatus.COMPLETE, completed_at=clock.now())
        WebhookEvent.objects.filter(event_id=event.event_id).update(outcome=outcome[:200])
    return outcome


def _on_payment_succeeded(p, event: PaymentEvent) -> str:
    """Checkout payments are recorded on checkout.session.completed (which carries the session to
    check against); auto-pay charges are recorded from the provider's answer, and here only when that
    answer was lost (the attempt still pending)."""
    if OnlinePayment.objects.filter(provider_payment_id=event.payment_id).exists():
        outcome = "acknowledged: payment already recorded"
    elif event.metadata.get("tripleplay_purpose") == "autopay" and event.metadata.get("tripleplay_attempt", "").isdigit():
        attempt = AutoPayAttempt.objects.select_related("customer").filter(
            pk=int(event.metadata["tripleplay_attempt"])).first()
        if attempt is None:
            outcome = "ignored: unknown auto-pay attempt"
        else:
            profile = PaymentProfile.objects.get(customer_id=attempt.customer_id)
            _check_customer(event, profile.provider_customer_id, attempt.customer_id)
            _check_money(event, attempt.amount_minor, attempt.currency)
            with transaction.atomic():
                if not _remember(p.name, event, "auto-pay payment recorded from the event"):
                    return "already processed"
                _settle_attempt(attempt, Charged(event.payment_id, event.amount_minor, event.currency))
            return "auto-pay payment recorded from the event"
    else:
        outcome = "acknowledged: recorded on checkout.session.completed"
    _remember(p.name, event, outcome)
    return outcome


def _on_refunded(p, event: PaymentEvent) -> str:
    payment = OnlinePayment.objects.filter(provider_payment_id=event.payment_id).first()
    if payment is None:
        outcome = "ignored: not a payment tripleplay recorded"
    elif event.amount_minor == payment.refunded_minor:
        outcome = "acknowledged: refunds match"
    else:
        # A refund made at the provider but not through tripleplay: shown to people, not booked blindly.
        outcome = f"refunds differ: provider {event.amount_minor}, tripleplay {payment.refunded_minor}"
        log.warning("payment %s: %s", payment.provider_payment_id, outcome)
    _remember(p.name, event, outcome)
    return outcome


def _store_method(customer: Customer, provider_name: str, method: StoredMethod) -> PaymentMethod:
    row, _ = PaymentMethod.objects.get_or_create(
        provider_method_id=method.method_id,
        defaults={"customer": customer, "provider": provider_name, "brand": method.brand[:20],
                  "last4": method.last4[:4], "exp_month": method.exp_month, "exp_year": method.exp_year,
                  "created_at": clock.now()})
    if row.customer_id != customer.pk:
        raise WebhookMismatch("the payment method belongs to another customer", details={"field": "customer"})
    record(WEBHOOK_ACTOR, "payments.method_saved", customer, method=row.pk, brand=row.brand, last4=row.last4)
    return row


def _record_payment(customer: Customer, provider_name: str, payment_id: str, amount_minor: int, currency: str, *,
                    source: str, checkout: CheckoutSession | None = None,
                    invoice: Invoice | None = None) -> OnlinePayment:
    """The provider's payment as a ledger payment (settling the oldest open invoices through the
    ledger's hooks) and its OnlinePayment row; in the caller's transaction. Idempotent by the
    provider's payment id."""
    existing = OnlinePayment.objects.filter(provider_payment_id=payment_id).first()
    if existing is not None:
        return existing
    entry = ledger.record_payment(WEBHOOK_ACTOR if source == Source.CHECKOUT else Actor.system("autopay"), customer,
                                  Money(amount_minor, currency), idempotency_key=f"{provider_name}:{payment_id}",
                                  method="card", reference=payment_id,
                                  description=f"Online payment ({provider_name} {payment_id})")
    payment = OnlinePayment.objects.create(
        customer=customer, provider=provider_name, provider_payment_id=payment_id, source=source, checkout=checkout,
        invoice=invoice, amount_minor=amount_minor, currency=currency, entry=entry, created_at=clock.now())
    record(WEBHOOK_ACTOR, "payments.payment_recorded", payment, customer=customer.pk, amount_minor=amount_minor,
           currency=currency, provider_payment_id=payment_id, source=str(source))
    return payment


# -- stored methods and auto-pay ------------------------------------------------------------------------


def set_autopay(actor: Actor, customer: Customer, *, enabled: bool, method: PaymentMethod | None = None) -> PaymentProfile:
    """Switch auto-pay on (with ``method``, default: the newest stored method) or off."""
    with transaction.atomic():
        profile = PaymentProfile.objects.select_for_update().filter(customer=customer).first()
        if profile is None:
            raise Conflict("the customer has no stored payment method: send a card-saving checkout first",
                           code="no_payment_method")
        if enabled:
            methods = PaymentMethod.objects.filter(customer=customer, removed_at__isnull=True)
            if method is not None and not methods.filter(pk=method.pk).exists():
                raise InvalidInput("the payment method is not one of the customer's", code="method_mismatch",
                                   details={"field": "payment_method_id"})
            method = method or methods.first()
            if method is None:
                raise Conflict("the customer has no stored payment method: send a card-saving checkout first",
                               code="no_payment_method")
            profile.default_method = method
        profile.autopay = enabled
        profile.save(update_fields=["autopay", "default_method"])
        record(actor, "payments.autopay_on" if enabled else "payments.autopay_off", customer,
               method=profile.default_method_id)
    return profile


@dataclass
class AutoPayReport:
    today: date
    charged: int = 0
    declined: int = 0
    final_failures: int = 0
    pending: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.today}: auto-pay charged {self.charged}, declined {self.declined} "
                f"({self.final_failures} final, left to collections), {self.pending} pending")


def run_autopay(actor: Actor, today: date | None = None) -> AutoPayReport:
    """Charge due invoices of auto-pay customers: attempt n on due date + RETRY_DAYS[n-1]."""
    today = today or clock.today()
    offsets = settings.TRIPLEPLAY_AUTOPAY_RETRY_DAYS
    report = AutoPayReport(today)
    autopay_customers = PaymentProfile.objects.filter(autopay=True).values("customer_id")
    due = (Invoice.objects.filter(kind=DocumentKind.INVOICE, status__in=OPEN_STATUSES, due_date__lte=today,
                                  customer_id__in=autopay_customers)
           .order_by("customer_id", "due_date", "number").values_list("pk", flat=True))
    for invoice_id in due:
        try:
            _autopay_invoice(actor, invoice_id, today, offsets, report)
        except Exception as e:  # one invoice must not stop the others; reported
            log.exception("auto-pay of invoice #%s failed", invoice_id)
            report.failures.append(f"invoice #{invoice_id}: {type(e).__name__}: {e}")
    return report


def _autopay_invoice(actor: Actor, invoice_id: int, today: date, offsets: list[int], report: AutoPayReport) -> None:
    invoice = Invoice.objects.get(pk=invoice_id)
    attempts = list(AutoPayAttempt.objects.filter(invoice=invoice).order_by("number"))
    if any(a.outcome == AttemptOutcome.SUCCEEDED for a in attempts):
        return
    if attempts and attempts[-1].outcome == AttemptOutcome.PENDING:
        attempt = attempts[-1]  # its answer was lost: asked again with the same idempotency key
    else:
        n = len(attempts)
        if n >= len(offsets) or today < invoice.due_date + timedelta(days=offsets[n]) or invoice.open_minor <= 0:
            return
        profile = PaymentProfile.objects.select_related("default_method").get(customer_id=invoice.customer_id)
        try:
            with transaction.atomic():
                attempt = AutoPayAttempt.objects.create(
                    customer_id=invoice.customer_id, invoice=invoice, number=n + 1, method=profile.default_method,
                    amount_minor=invoice.open_minor, currency=invoice.currency, at=clock.now())
        except IntegrityError:
            return  # another worker claimed it
    _charge_attempt(actor, attempt, final=attempt.number >= len(offsets), report=report)


def _charge_attempt(actor: Actor, attempt: AutoPayAttempt, *, final: bool, report: AutoPayReport) -> None:
    profile = PaymentProfile.objects.get(customer_id=attempt.customer_id)
    p = provider()
    try:
        charged = p.charge_off_session(
            provider_customer_id=profile.provider_customer_id, method_id=attempt.method.provider_method_id,
            amount_minor=attempt.amount_minor, currency=attempt.currency,
            metadata={"tripleplay_customer": str(attempt.customer_id), "tripleplay_purpose": "autopay",
                      "tripleplay_attempt": str(attempt.pk), "tripleplay_invoice": str(attempt.invoice_id)},
            idempotency_key=f"tripleplay-autopay-{attempt.invoice_id}-{attempt.number}")
    except CardDeclined as e:
        _fail_attempt(actor, attempt, AttemptOutcome.DECLINED, e.message, decline_code=e.decline_code,
                      payment_id=e.payment_id, final=final)
        report.declined += 1
        report.final_failures += final
        return
    except ProviderError as e:
        if not e.permanent:
            report.pending += 1  # unreachable: the same attempt is sent again on the next run
            AutoPayAttempt.objects.filter(pk=attempt.pk).update(message=e.message[:300])
            return
        _fail_attempt(actor, attempt, AttemptOutcome.ERROR, e.message, decline_code=e.code, final=final)
        report.final_failures += final
        return
    with transaction.atomic():
        _settle_attempt(attempt, charged)
    report.charged += 1


def _settle_attempt(attempt: AutoPayAttempt, charged: Charged) -> None:
    """Record a successful off-session charge (the provider's answer, or its event); in the caller's
    transaction, once: the attempt row is locked and must still be pending."""
    attempt = AutoPayAttempt.objects.select_for_update().select_related("customer").get(pk=attempt.pk)
    if attempt.outcome != AttemptOutcome.PENDING:
        return
    payment = _record_payment(attempt.customer, provider().name, charged.payment_id, attempt.amount_minor,
                              attempt.currency, source=Source.AUTOPAY, invoice=attempt.invoice)
    attempt.outcome, attempt.payment, attempt.provider_payment_id = AttemptOutcome.SUCCEEDED, payment, charged.payment_id
    attempt.message = ""
    attempt.save(update_fields=["outcome", "payment", "provider_payment_id", "message"])
    record(Actor.system("autopay"), "payments.autopay_succeeded", attempt, customer=attempt.customer_id,
           invoice=attempt.invoice_id, amount_minor=attempt.amount_minor, provider_payment_id=charged.payment_id)


def _fail_attempt(actor: Actor, attempt: AutoPayAttempt, outcome: str, message: str, *, decline_code: str = "",
                  payment_id: str = "", final: bool) -> None:
    with transaction.atomic():
        updated = AutoPayAttempt.objects.filter(pk=attempt.pk, outcome=AttemptOutcome.PENDING).update(
            outcome=outcome, message=message[:300], decline_code=decline_code[:50], provider_payment_id=payment_id[:100],
            final=final)
        if updated:
            attempt.refresh_from_db()
            record(actor, "payments.autopay_failed" if final else "payments.autopay_declined", attempt,
                   customer=attempt.customer_id, invoice=attempt.invoice_id, amount_minor=attempt.amount_minor,
                   decline_code=decline_code, final=final)


# -- refunds ----------------------------------------------------------------------------------------------


def refund_online_payment(actor: Actor, payment: OnlinePayment, amount: Money, *, reason: str,
                          idempotency_key: str) -> OnlineRefund:
    """Pay (part of) an online payment back: the ledger refund (only out of the customer's own money),
    then the provider's refund; see the module docstring for failures. A retry with the same key
    returns the first refund (and asks the provider again while it is pending)."""
    key = check_key(idempotency_key)
    if amount.currency != payment.currency:
        raise InvalidInput(f"the payment was in {payment.currency}", code="currency_mismatch")
    if amount.minor <= 0:
        raise InvalidInput("amount must be greater than zero", details={"field": "amount_minor"})
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a reason is required", details={"field": "reason"})
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    try:
        with transaction.atomic():
            locked = OnlinePayment.objects.select_for_update().select_related("customer").get(pk=payment.pk)
            existing = OnlineRefund.objects.filter(idempotency_key=key).first()
            if existing is not None:
                if (existing.payment_id, existing.amount_minor, existing.reason) != (locked.pk, amount.minor,
                                                                                     reason.strip()[:200]):
                    raise IdempotencyConflict(f"idempotency key {key!r} was already used for a different request",
                                              details={"idempotency_key": key})
                row = existing
            else:
                if amount.minor > locked.refundable_minor:
                    raise Conflict("more than is left to refund on this payment", code="refund_exceeds_payment",
                                   details={"refundable_minor": locked.refundable_minor})
                entry = ledger.refund(actor, locked.customer, amount, reason=reason.strip(),
                                      idempotency_key=f"{locked.provider}-refund:{digest}",
                                      reference=locked.provider_payment_id)
                OnlinePayment.objects.filter(pk=locked.pk).update(refunded_minor=F("refunded_minor") + amount.minor)
                row = OnlineRefund(payment=locked, amount_minor=amount.minor, reason=reason.strip()[:200],
                                   idempotency_key=key, entry=entry, created_at=clock.now())
                row.set_actor(actor)
                row.save()
                record(actor, "payments.refund_requested", row, customer=locked.customer_id,
                       amount_minor=amount.minor, provider_payment_id=locked.provider_payment_id)
    except IntegrityError:
        row = OnlineRefund.objects.filter(idempotency_key=key).first()  # a concurrent retry won
        if row is None:
            raise
    if row.status != RefundStatus.PENDING:
        return row
    return send_refund(actor, row)


def _provider_key(row: OnlineRefund) -> str:
    return f"tripleplay-refund-{hashlib.sha256(row.idempotency_key.encode()).hexdigest()[:40]}"


def send_refund(actor: Actor, row: OnlineRefund) -> OnlineRefund:
    """Ask the provider for a recorded refund (again, with the same key, if its answer was lost)."""
    payment = row.payment
    try:
        refunded = provider().refund(payment_id=payment.provider_payment_id, amount_minor=row.amount_minor,
                                     idempotency_key=_provider_key(row))
    except ProviderError as e:
        if not e.permanent:
            OnlineRefund.objects.filter(pk=row.pk).update(error=e.message[:300])
            row.refresh_from_db()
            return row
        with transaction.atomic():
            if not OnlineRefund.objects.filter(pk=row.pk, status=RefundStatus.PENDING).update(
                    status=RefundStatus.FAILED, error=e.message[:300]):
                row.refresh_from_db()
                return row
            reversal = ledger.post_credit(actor, payment.customer, Money(row.amount_minor, payment.currency),
                                          reason=f"refund refused by the provider: {e.message}"[:200],
                                          idempotency_key=f"{payment.provider}-refund:{row.pk}:reversal")
            OnlineRefund.objects.filter(pk=row.pk).update(reversal=reversal)
            OnlinePayment.objects.filter(pk=payment.pk).update(refunded_minor=F("refunded_minor") - row.amount_minor)
            record(actor, "payments.refund_failed", row, customer=payment.customer_id, error=e.message[:200])
        row.refresh_from_db()
        return row
    with transaction.atomic():
        OnlineRefund.objects.filter(pk=row.pk, status=RefundStatus.PENDING).update(
            status=RefundStatus.SUCCEEDED, provider_refund_id=refunded.refund_id, error="")
        record(actor, "payments.refund_sent", row, customer=payment.customer_id, provider_refund_id=refunded.refund_id)
    row.refresh_from_db()
    return row


def retry_pending_refunds(actor: Actor, limit: int = 100) -> int:
    rows = list(OnlineRefund.objects.filter(status=RefundStatus.PENDING).select_related("payment__customer")[:limit])
    for row in rows:
        send_refund(actor, row)
    return len(rows)
