"""Reads of the radius app: for FreeRADIUS's calls (a NAS by address, a login's access facts) and for
the operator's API and pages."""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import Count, Min, Q, QuerySet

from tripleplay import clock
from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Account, AccountProduct, AssignmentRole
from tripleplay.iptv import secrets
from tripleplay.ledger.selectors import funds_of
from tripleplay.radius.attributes import ServiceAttributes
from tripleplay.radius.decision import Found
from tripleplay.radius.models import InternetLogin, InternetService, NasClient, NasCommand, NetworkSession


def nas_by_address(address: str) -> NasClient | None:
    return NasClient.objects.filter(address=address, enabled=True).first()


def nas_secret(nas: NasClient) -> str:
    return secrets.decrypt(nas.secret_encrypted)


class Access(NamedTuple):
    account_id: int
    customer_id: int
    password: str  # cleartext, for FreeRADIUS's own check; never logged
    found: Found
    service: ServiceAttributes | None


def access_of(username: str) -> Access | None:
    """What authorize needs to decide on ``username``: None if no account has that login and an
    internet password."""
    login = (InternetLogin.objects.select_related("account__customer")
             .filter(account__login=username).first()) if username else None
    if login is None:
        return None
    account: Account = login.account
    today = clock.today()
    main = (AccountProduct.objects.filter(account=account, role=AssignmentRole.MAIN, start_date__lte=today)
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=today)).values_list("product_id", flat=True).first())
    service = InternetService.objects.filter(product_id=main).first() if main else None
    attrs = ServiceAttributes(service.download_kbps, service.upload_kbps, service.address_pool,
                              service.session_timeout_seconds, service.idle_timeout_seconds,
                              service.interim_interval_seconds) if service else None
    found = Found(account.status, account.customer.status, service is not None,
                  funds_of(account.customer_id).available.minor)
    return Access(account.pk, account.customer_id, secrets.decrypt(login.password_encrypted), found, attrs)


def nas_clients() -> QuerySet[NasClient]:
    return NasClient.objects.all()


def sessions(*, customer_id: int | None = None, account_id: int | None = None, nas_id: int | None = None,
             status: str | None = None) -> QuerySet[NetworkSession]:
    qs = NetworkSession.objects.select_related("nas")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    if nas_id is not None:
        qs = qs.filter(nas_id=nas_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def commands(*, status: str | None = None, customer_id: int | None = None) -> QuerySet[NasCommand]:
    qs = NasCommand.objects.select_related("nas", "session")
    if status:
        qs = qs.filter(status=status)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs


def internet_service_of(product_id: int) -> InternetService | None:
    return InternetService.objects.filter(product_id=product_id).first()


def _get(model, pk: int, what: str):
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"{what} {pk} not found", details={"id": pk})
    return obj


def nas(nas_id: int) -> NasClient:
    return _get(NasClient, nas_id, "NAS")


def session(session_id: int) -> NetworkSession:
    return _get(NetworkSession, session_id, "session")


def command(command_id: int) -> NasCommand:
    return _get(NasCommand, command_id, "command")


def internet_login_of(account_id: int) -> InternetLogin | None:
    return InternetLogin.objects.filter(account_id=account_id).select_related("last_nas").first()


def command_queue() -> dict[str, int]:
    """Disconnect (and CoA) commands by status, for /metrics: one GROUP BY."""
    rows = NasCommand.objects.order_by().values("status").annotate(n=Count("id")).order_by("status")
    return {r["status"]: r["n"] for r in rows}


def oldest_pending_command_at():
    """When the oldest pending command was written, or None."""
    return NasCommand.objects.filter(status="pending").aggregate(oldest=Min("created_at"))["oldest"]
