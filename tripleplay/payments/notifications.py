"""E-mail to the customer: the hosted checkout link an operator sends (after the commit: an e-mail is
not transactional; a failure is logged and the link is still shown to the operator)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from tripleplay.money import Money
from tripleplay.payments.models import CheckoutSession, Purpose

log = logging.getLogger("tripleplay.payments")


def send_checkout_link(session: CheckoutSession) -> bool:
    customer = session.customer
    if not customer.email:
        return False
    if session.purpose == Purpose.SETUP:
        what = "save a card for automatic payment of your invoices"
    elif session.purpose == Purpose.INVOICE:
        what = f"pay invoice {session.invoice.number_text} ({Money(session.amount_minor, session.currency).format()})"
    else:
        what = f"top up your account with {Money(session.amount_minor, session.currency).format()}"
    body = (f"Dear {customer.name},\n\nfollow this secure link to {what}:\n\n{session.url}\n\n"
            f"The page is our payment provider's; we never see your card details.\n\n"
            f"{settings.TRIPLEPLAY_INVOICE_ISSUER}\n")
    try:
        send_mail(f"{settings.TRIPLEPLAY_INVOICE_ISSUER}: your payment link", body, None, [customer.email])
    except Exception:
        log.exception("checkout link e-mail to customer #%s failed", customer.pk)
        return False
    return True
