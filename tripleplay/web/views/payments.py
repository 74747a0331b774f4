"""Online payments in the operator UI: a customer's payment methods, auto-pay switch, checkout links
("pay online", "save a card"), online payments with their provider ids and refunds; and the public
page a customer returns to from the provider's hosted checkout."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from tripleplay.core.errors import InvalidInput
from tripleplay.customers import selectors as customer_selectors
from tripleplay.invoicing import selectors as invoicing_selectors
from tripleplay.invoicing.models import OPEN_STATUSES, DocumentKind
from tripleplay.money import Money
from tripleplay.payments import notifications, selectors, services
from tripleplay.web.access import OPERATIONS, action, page
from tripleplay.web.views.common import show


def payments_url(customer_id: int) -> str:
    return reverse("web:customer_payments", args=[customer_id])


@page()
def customer_payments(request, customer_id: int):
    customer = customer_selectors.customer(customer_id)
    open_invoices = [i for i in invoicing_selectors.invoices(customer.pk).filter(kind=DocumentKind.INVOICE,
                                                                                 status__in=OPEN_STATUSES)
                     if i.open_minor > 0]
    return show(request, "customers/payments.html", "customers", customer=customer,
                profile=selectors.profile_of(customer), methods=list(selectors.payment_methods(customer)),
                open_invoices=open_invoices, sessions=list(selectors.checkout_sessions(customer)[:20]),
                payments=list(selectors.online_payments(customer)[:50]),
                refunds=list(selectors.refunds_of(customer)[:50]),
                attempts=list(selectors.autopay_attempts(customer)[:50]), key=uuid.uuid4().hex)


@action(*OPERATIONS)
def send_checkout(request, customer_id: int):
    """"Pay online": a hosted checkout for an open invoice or a top-up, e-mailed to the customer."""
    customer = customer_selectors.customer(customer_id)
    target = request.POST.get("target", "")
    save = request.POST.get("save_method") == "on"
    if target == "setup":
        session = services.start_setup(request.actor, customer)
    elif target == "top_up":
        amount = Money.parse(request.POST.get("amount", "").strip(), customer.currency)
        session = services.start_checkout(request.actor, customer, amount=amount, save_method=save)
    elif target.isdigit():
        session = services.start_checkout(request.actor, customer, invoice=invoicing_selectors.get_invoice(int(target)),
                                          save_method=save)
    else:
        raise InvalidInput("choose an invoice, a top-up or saving a card")
    mailed = notifications.send_checkout_link(session)
    messages.success(request, f"Checkout link {'e-mailed to ' + customer.email if mailed else 'ready'}: {session.url}")
    return redirect(payments_url(customer.pk))


@action(*OPERATIONS)
def autopay(request, customer_id: int):
    customer = customer_selectors.customer(customer_id)
    enabled = request.POST.get("enabled") == "on"
    method_id = request.POST.get("method", "")
    method = selectors.payment_method(customer, int(method_id)) if method_id.isdigit() else None
    services.set_autopay(request.actor, customer, enabled=enabled, method=method)
    messages.success(request, f"Auto-pay {'on' if enabled else 'off'}.")
    return redirect(payments_url(customer.pk))


@action(*OPERATIONS)
def refund(request, payment_id: int):
    payment = selectors.online_payment(payment_id)
    amount = Money.parse(request.POST.get("amount", "").strip(), payment.currency)
    row = services.refund_online_payment(request.actor, payment, amount, reason=request.POST.get("reason", ""),
                                         idempotency_key=f"web-refund-{request.POST.get('key') or uuid.uuid4().hex}")
    text = f"Refund of {amount.format()}: {row.status}"
    if row.provider_refund_id:
        text += f" ({row.provider_refund_id})"
    if row.error:
        text += f": {row.error}"
    (messages.success if row.status == "succeeded" else messages.warning)(request, text)
    return redirect(payments_url(payment.customer_id))


@require_safe
def checkout_return(request):
    """Where the provider sends the customer back (public: the session id is the provider's secret
    token; only the amount and whether the payment is confirmed are shown)."""
    session = selectors.checkout_by_provider_id(request.GET.get("session_id", "")[:100])
    return render(request, "web/payments_return.html", {"session": session,
                                                        "cancelled": request.GET.get("cancelled") == "1"})
