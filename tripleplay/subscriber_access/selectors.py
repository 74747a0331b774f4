"""Reads of portal access, for the portal, the operator UI and the API."""

from __future__ import annotations

from tripleplay import clock
from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Customer
from tripleplay.subscriber_access.models import PortalSession, SubscriberLogin


def login_of(customer: Customer | int, *, lock: bool = False) -> SubscriberLogin:
    customer_id = customer if isinstance(customer, int) else customer.pk
    qs = SubscriberLogin.objects.select_related("customer")
    if lock:
        qs = qs.select_for_update()
    try:
        return qs.get(customer_id=customer_id)
    except SubscriberLogin.DoesNotExist:
        raise NotFound(f"customer #{customer_id} has no portal access") from None


def portal_access(customer: Customer | int) -> SubscriberLogin | None:
    """The customer's portal login, or None before any invitation (the operator's customer page)."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    return SubscriberLogin.objects.filter(customer_id=customer_id).first()


def login_for_identity(identity: str) -> SubscriberLogin | None:
    """The login an identity names: one of the customer's accounts' logins (exact, case-insensitive),
    else the customer's e-mail when exactly one login has it (an e-mail shared by two customers names
    neither: they log in with an account login)."""
    identity = (identity or "").strip()
    if not identity:
        return None
    qs = SubscriberLogin.objects.select_related("customer")
    by_account = list(qs.filter(customer__accounts__login__iexact=identity).distinct()[:2])
    if len(by_account) == 1:
        return by_account[0]
    by_email = list(qs.filter(customer__email__iexact=identity)[:2])
    return by_email[0] if len(by_email) == 1 else None


def open_sessions(login: SubscriberLogin) -> int:
    """Sessions not ended and not past their absolute end (an idle one may still count until it is used)."""
    return PortalSession.objects.filter(login=login, ended_at__isnull=True, expires_at__gt=clock.now()).count()
