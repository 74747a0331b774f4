"""Reads of the radius app: for FreeRADIUS's calls (a NAS by address, a login's access facts) and for
the operator's API and pages."""

from __future__ import annotations

from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Min, Q, QuerySet, Subquery

from tripleplay import clock
from tripleplay.core import prepared
from tripleplay.core.errors import NotFound
from tripleplay.customers.models import Account, AccountProduct, AssignmentRole, Customer, VacationHold
from tripleplay.customers.models import HoldStatus as VacationHoldStatus
from tripleplay.customers.selectors import on_hold
from tripleplay.iptv import secrets
from tripleplay.ledger.models import Funds
from tripleplay.ledger.selectors import funds_of
from tripleplay.radius.attributes import ServiceAttributes
from tripleplay.radius.decision import Found
from tripleplay.radius.models import InternetLogin, InternetService, NasClient, NasCommand, NetworkSession

_NAS_FIELDS = tuple(f.attname for f in NasClient._meta.concrete_fields)
_NAS_SQL: str | None = None


def nas_by_address(address: str) -> NasClient | None:
    """The enabled NAS at ``address``, or None. Every rlm_rest call asks it: one hand-written SELECT
    (the queryset's SQL compilation was a sixth of an Access-Request's Python time, D210)."""
    global _NAS_SQL
    if _NAS_SQL is None:
        _NAS_SQL = (f"SELECT {', '.join(_NAS_FIELDS)} FROM {NasClient._meta.db_table}"
                    " WHERE address = %s AND enabled = %s ORDER BY id LIMIT 1")
    row = prepared.fetch_one(_NAS_SQL, [address, True])
    return NasClient.from_db(DEFAULT_DB_ALIAS, _NAS_FIELDS, row) if row else None


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
    internet password.

    One SELECT (D210): the login, its account and customer, the customer's funds, whether a vacation
    hold has started, and the internet attributes of the account's current main product (the first
    by id, as AccountProduct's ordering has it). It was five ORM queries, whose compilation cost three
    quarters of an Access-Request's time in tripleplay; ``access_of_orm`` is that reading, kept for
    the test that both agree."""
    if not username:
        return None
    row = prepared.fetch_one(_access_sql(), _access_params(username))
    return _access_from_row(row) if row is not None else None


def authorize_lookup(address: str, username: str) -> tuple[NasClient | None, Access | None]:
    """nas_by_address and access_of in one round trip, for authorize (D241): the enabled NAS at
    ``address`` (None: nothing else is read) and the access of ``username`` (None: no such login)."""
    global _AUTHORIZE_SQL
    if _AUTHORIZE_SQL is None:
        _nas_sql = (f"SELECT {', '.join(_NAS_FIELDS)} FROM {NasClient._meta.db_table}"
                    " WHERE address = %s AND enabled = %s ORDER BY id LIMIT 1")
        # The access is not correlated with the NAS: a LEFT JOIN on a true condition (PostgreSQL and SQLite).
        _AUTHORIZE_SQL = f"SELECT n.*, x.* FROM ({_nas_sql}) n LEFT JOIN ({_access_sql()}) x ON 1 = 1"
    row = prepared.fetch_one(_AUTHORIZE_SQL, [address, True, *_access_params(username)])
    if row is None:
        return None, None
    width = len(_NAS_FIELDS)
    nas = NasClient.from_db(DEFAULT_DB_ALIAS, _NAS_FIELDS, row[:width])
    access = row[width:]
    return nas, (_access_from_row(access) if username and access[0] is not None else None)


_AUTHORIZE_SQL: str | None = None


def _access_params(username: str) -> list:
    today = clock.today()
    return [str(VacationHoldStatus.ACTIVE), str(AssignmentRole.MAIN), today, today, username]


def _access_from_row(row: tuple) -> Access:
    (account_id, customer_id, password, account_status, customer_status, available, held_on, has_funds,
     has_service, *service) = row
    if not has_funds:
        raise Funds.DoesNotExist(f"customer {customer_id} has no funds row")
    attrs = ServiceAttributes(*service) if has_service else None
    found = Found(account_status, customer_status, attrs is not None, available, bool(held_on))
    return Access(account_id, customer_id, secrets.decrypt(password), found, attrs)


_ACCESS_SQL: str | None = None


def _access_sql() -> str:
    global _ACCESS_SQL
    if _ACCESS_SQL is None:
        t = {m.__name__: m._meta.db_table for m in (InternetLogin, Account, Customer, Funds, InternetService,
                                                    AccountProduct, VacationHold)}
        _ACCESS_SQL = (
            "SELECT a.id, a.customer_id, l.password_encrypted, a.status, c.status,"
            " f.balance_minor + f.credit_limit_minor - f.held_minor,"
            f" EXISTS (SELECT 1 FROM {t['VacationHold']} v WHERE v.account_id = a.id AND v.status = %s),"
            " f.customer_id IS NOT NULL, s.id IS NOT NULL,"
            " s.download_kbps, s.upload_kbps, s.address_pool, s.session_timeout_seconds, s.idle_timeout_seconds,"
            " s.interim_interval_seconds"
            f" FROM {t['InternetLogin']} l JOIN {t['Account']} a ON a.id = l.account_id"
            f" JOIN {t['Customer']} c ON c.id = a.customer_id"
            f" LEFT JOIN {t['Funds']} f ON f.customer_id = a.customer_id"
            f" LEFT JOIN {t['InternetService']} s ON s.product_id = (SELECT ap.product_id FROM {t['AccountProduct']} ap"
            " WHERE ap.account_id = a.id AND ap.role = %s AND ap.start_date <= %s"
            " AND (ap.end_date IS NULL OR ap.end_date > %s) ORDER BY ap.id LIMIT 1)"
            " WHERE a.login = %s ORDER BY l.id LIMIT 1")
    return _ACCESS_SQL


def access_of_orm(username: str) -> Access | None:
    """access_of as the ORM reads it (five queries): the reference the one-SELECT reading is tested against."""
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


def with_window_reports(rows):
    """``rows`` (NAS session rows, a page) as they are now: an open session's Interim-Updates answered by
    the fast path (D295) are on its charging session until the Python path folds them into the row
    (radius.charging.take_window_reports); here they are laid over the objects, nothing written."""
    from tripleplay.radius.charging import client, lay_over
    from tripleplay.sessions.selectors import pending_reports
    from tripleplay.sessions.services import Reported

    rows = list(rows)
    pending = pending_reports((client(s.nas_id), s.acct_session_id) for s in rows if s.status == "active")
    for s in rows:
        c = pending.get((client(s.nas_id), s.acct_session_id)) if s.status == "active" else None
        if c is not None:
            lay_over(s, Reported(c.reported_input, c.reported_output, c.reported_seconds, c.reported_address),
                     c.reports, c.last_seen_at)
    return rows


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
    """One NAS session as it is now (with the fast path's reports not yet folded, D295)."""
    return with_window_reports([_get(NetworkSession, session_id, "session")])[0]


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
    from tripleplay.sessions.selectors import active_sessions, with_windows

    accounts = list(Account.objects.filter(customer_id=customer_id).order_by("id"))
    logins = {login.account_id: login for login in
              InternetLogin.objects.filter(account__customer_id=customer_id).select_related("last_nas")}
    main = dict(_main_product_ids_today().filter(account__customer_id=customer_id)
                .values_list("account_id", "product_id"))
    services = {s.product_id: s for s in InternetService.objects.filter(product_id__in=main.values())}
    rows = [{"account": a, "login": logins.get(a.pk), "service": services.get(main.get(a.pk))}
            for a in accounts if a.pk in logins or main.get(a.pk) in services]
    charged = {(c.client, c.session_id): c
               for c in with_windows(active_sessions(customer=customer_id).filter(service_type="data"))}
    active = with_window_reports(sessions(customer_id=customer_id, status="active").order_by("-started_at", "-id")[:100])
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
