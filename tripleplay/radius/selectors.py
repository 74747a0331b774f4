"""Reads of the radius app: for FreeRADIUS's calls (a NAS by address, a login's access facts) and for
the operator's API and pages."""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import Count, Min, Q, QuerySet, Subquery

from tripleplay import clock
from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Account, AccountProduct, AssignmentRole
from tripleplay.customers.selectors import on_hold
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
    # The current main product's internet attributes in one query (AccountProduct's own ordering).
    main = (AccountProduct.objects.filter(account=account, role=AssignmentRole.MAIN, start_date__lte=today)
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=today)).values("product_id")[:1])
    service = InternetService.objects.filter(product_id=Subquery(main)).first()
    attrs = ServiceAttributes(service.download_kbps, service.upload_kbps, service.address_pool,
                              service.session_timeout_seconds, service.idle_timeout_seconds,
                              service.interim_interval_seconds) if service else None
    found = Found(account.status, account.customer.status, service is not None,
                  funds_of(account.customer_id).available.minor, on_hold(account))
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


def _main_product_ids_today():
    today = clock.today()
    return (AccountProduct.objects.filter(role=AssignmentRole.MAIN, start_date__lte=today)
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=today)))


def desired_rate(session: NetworkSession) -> tuple[int, int] | None:
    """(download, upload) kbit/s the session should have now (network state as desired state, D127):
    its account's current main product's internet rates; None when there is none to give."""
    if session.account_id is None:
        return None
    product_id = (_main_product_ids_today().filter(account_id=session.account_id)
                  .values_list("product_id", flat=True).first())
    service = InternetService.objects.filter(product_id=product_id).first() if product_id else None
    return (service.download_kbps, service.upload_kbps) if service else None


def desired_rate_attributes(session: NetworkSession) -> dict[str, str] | None:
    """desired_rate in the session's NAS's dictionary (what a CoA-Request carries)."""
    from tripleplay.radius.attributes import rate_attributes

    rate = desired_rate(session)
    return rate_attributes(session.nas.vendor, *rate) if rate else None


def active_sessions_on_product(product_id: int) -> QuerySet[NetworkSession]:
    """Open sessions of the accounts whose main product today is ``product_id``."""
    accounts = _main_product_ids_today().filter(product_id=product_id).values("account_id")
    return NetworkSession.objects.filter(status="active", account_id__in=accounts)


def customer_internet(customer_id: int) -> dict:
    """The internet leg of a customer for the operator's customer page: each account's login and the
    rate it should have, the open sessions with their usage and what was charged so far (the charging
    core's session of the same NAS and Acct-Session-Id), the last ended sessions, and the outbox's
    commands not done."""
    from tripleplay.radius.charging import client
    from tripleplay.sessions.selectors import active_sessions

    accounts = list(Account.objects.filter(customer_id=customer_id).order_by("id"))
    logins = {login.account_id: login for login in
              InternetLogin.objects.filter(account__customer_id=customer_id).select_related("last_nas")}
    main = dict(_main_product_ids_today().filter(account__customer_id=customer_id)
                .values_list("account_id", "product_id"))
    services = {s.product_id: s for s in InternetService.objects.filter(product_id__in=main.values())}
    rows = [{"account": a, "login": logins.get(a.pk), "service": services.get(main.get(a.pk))}
            for a in accounts if a.pk in logins or main.get(a.pk) in services]
    charged = {(c.client, c.session_id): c for c in active_sessions(customer=customer_id).filter(service_type="data")}
    active = list(sessions(customer_id=customer_id, status="active").order_by("-started_at", "-id")[:100])
    for s in active:
        s.charging = charged.get((client(s.nas_id), s.acct_session_id))
    return {"internet_accounts": rows, "internet_sessions": active,
            "internet_ended": list(sessions(customer_id=customer_id, status="stopped").order_by("-stopped_at", "-id")[:20]),
            "internet_commands": list(commands(customer_id=customer_id).exclude(status="done").order_by("-id")[:50])}


def command_queue() -> dict[str, int]:
    """Disconnect (and CoA) commands by status, for /metrics: one GROUP BY."""
    rows = NasCommand.objects.order_by().values("status").annotate(n=Count("id")).order_by("status")
    return {r["status"]: r["n"] for r in rows}


def oldest_pending_command_at():
    """When the oldest pending command was written, or None."""
    return NasCommand.objects.filter(status="pending").aggregate(oldest=Min("created_at"))["oldest"]
