"""Every write of the radius app: NAS clients, products' internet service, accounts' internet
passwords (operator actions, audited), what the NAS reports (post-auth, accounting), and the
Disconnect-Request outbox (written in the billing change's own transaction; sent by radius.coa).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, connection, transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.catalog.models import Product
from tripleplay.core import prepared
from tripleplay.core import validation as v
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput
from tripleplay.customers.models import Account, Customer, Status
from tripleplay.customers.selectors import on_hold
from tripleplay.iptv import secrets
from tripleplay.radius import charging
from tripleplay.radius.attributes import BY_VENDOR, ServiceAttributes, reply_attributes
from tripleplay.radius.models import (
    CommandKind,
    CommandStatus,
    InternetLogin,
    InternetService,
    NasClient,
    NasCommand,
    NetworkSession,
    ReplyAttribute,
    SessionStatus,
    Vendor,
)
from tripleplay.radius.passwords import ssha512
from tripleplay.sessions.hooks import SessionMustEnd

MAX_RATE_KBPS = 100_000_000  # 100 Gbit/s
MAX_SECONDS = 31 * 24 * 3600

# -- NAS clients -------------------------------------------------------------------------------------------


def _address(value) -> str:
    value = v.text(value, "address", required=True, max_length=45)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidInput("address must be an IPv4 or IPv6 address", details={"field": "address"}) from None


def _secret(value) -> str:
    value = v.text(value, "secret", required=True, max_length=128)
    if len(value) < 8:
        raise InvalidInput("secret must be at least 8 characters", details={"field": "secret"})
    return value


def _port(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidInput("coa_port must be an integer from 1 to 65535", details={"field": "coa_port"})
    return value


def _timeout(value) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        d = Decimal(-1)
    if not Decimal("0.1") <= d <= Decimal(30):
        raise InvalidInput("timeout_seconds must be from 0.1 to 30", details={"field": "timeout_seconds"})
    return d.quantize(Decimal("0.01"))


def _name(value) -> str:
    value = v.text(value, "name", required=True, max_length=64)
    if not all(c.isalnum() and c.isascii() or c in "-_" for c in value) or value != value.lower():
        raise InvalidInput("name must be lowercase letters, digits, '-' or '_'", details={"field": "name"})
    return value


SESSION_SOURCE_PATTERN = r"^$|^(sim\+http|routeros|routeros\+tls)://[A-Za-z0-9.-]{1,100}(:[0-9]{1,5})?/?$"


def _session_source(value) -> str:
    import re

    value = v.text(value, "session_source", max_length=200) or ""
    if not re.fullmatch(SESSION_SOURCE_PATTERN, value):
        raise InvalidInput("session_source must be empty or sim+http://HOST:PORT (routeros://HOST:PORT reserved)",
                           details={"field": "session_source"})
    return value


def _unique_nas(name: str | None, address: str | None, exclude: int | None = None) -> None:
    others = NasClient.objects.exclude(pk=exclude) if exclude else NasClient.objects.all()
    if name is not None and others.filter(name=name).exists():
        raise Conflict(f"a NAS named {name!r} exists", code="duplicate", details={"field": "name"})
    if address is not None and others.filter(address=address).exists():
        raise Conflict(f"a NAS with address {address} exists", code="duplicate", details={"field": "address"})


@transaction.atomic
def create_nas(actor: Actor, *, name: str, address: str, secret: str, vendor: str, coa_port: int = 3799,
               timeout_seconds="3", enabled: bool = True, session_source: str = "") -> NasClient:
    name, address = _name(name), _address(address)
    _unique_nas(name, address)
    now = clock.now()
    nas = NasClient.objects.create(name=name, address=address, secret_encrypted=secrets.encrypt(_secret(secret)),
                                   vendor=v.choice(vendor, "vendor", Vendor), coa_port=_port(coa_port),
                                   timeout_seconds=_timeout(timeout_seconds), enabled=bool(enabled),
                                   session_source=_session_source(session_source), created_at=now, updated_at=now)
    record(actor, "radius.nas_created", nas, name=name, address=address, vendor=vendor)
    return nas


@transaction.atomic
def update_nas(actor: Actor, nas: NasClient, **changes) -> NasClient:
    nas = NasClient.objects.select_for_update().get(pk=nas.pk)
    fields = {}
    if "name" in changes:
        fields["name"] = _name(changes["name"])
    if "address" in changes:
        fields["address"] = _address(changes["address"])
    _unique_nas(fields.get("name"), fields.get("address"), exclude=nas.pk)
    if "secret" in changes:
        fields["secret_encrypted"] = secrets.encrypt(_secret(changes["secret"]))
    if "vendor" in changes:
        fields["vendor"] = v.choice(changes["vendor"], "vendor", Vendor)
    if "coa_port" in changes:
        fields["coa_port"] = _port(changes["coa_port"])
    if "timeout_seconds" in changes:
        fields["timeout_seconds"] = _timeout(changes["timeout_seconds"])
    if "enabled" in changes:
        fields["enabled"] = bool(changes["enabled"])
    if "session_source" in changes:
        fields["session_source"] = _session_source(changes["session_source"])
    renamed = "address" in fields and fields["address"] != nas.address
    disabled = fields.get("enabled") is False and nas.enabled
    for key, value in fields.items():
        setattr(nas, key, value)
    nas.updated_at = clock.now()
    nas.save()
    if renamed or disabled:
        # The fast path reads no NAS (D295): its sessions' windows close, and their keys name the old
        # address no more; their next reports are the Python path's.
        charging.close_windows_of_nas(nas.pk, forget_keys=True)
    record(actor, "radius.nas_updated", nas, fields=sorted(k.replace("_encrypted", "") for k in fields))
    return nas


# -- products and accounts ---------------------------------------------------------------------------------


def _bounded(changes: dict, field: str, default: int, *, minimum: int, maximum: int) -> int:
    value = changes.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidInput(f"{field} must be an integer from {minimum} to {maximum}", details={"field": field})
    return value


@transaction.atomic
def set_internet_service(actor: Actor, product: Product, **values) -> InternetService:
    """Create or replace the product's internet attributes (every field given, or its default)."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    fields = {
        "download_kbps": _bounded(values, "download_kbps", 0, minimum=1, maximum=MAX_RATE_KBPS),
        "upload_kbps": _bounded(values, "upload_kbps", 0, minimum=1, maximum=MAX_RATE_KBPS),
        "address_pool": v.text(values.get("address_pool", ""), "address_pool", max_length=64),
        "session_timeout_seconds": _bounded(values, "session_timeout_seconds", 0, minimum=0, maximum=MAX_SECONDS),
        "idle_timeout_seconds": _bounded(values, "idle_timeout_seconds", 0, minimum=0, maximum=MAX_SECONDS),
        "interim_interval_seconds": _bounded(values, "interim_interval_seconds", 300, minimum=0, maximum=86400),
    }
    if 0 < fields["interim_interval_seconds"] < 60:
        raise InvalidInput("interim_interval_seconds must be 0 (none) or at least 60",
                           details={"field": "interim_interval_seconds"})
    before = InternetService.objects.filter(product=product).values_list("download_kbps", "upload_kbps").first()
    service, _ = InternetService.objects.update_or_create(product=product, defaults={**fields, "updated_at": clock.now()})
    record(actor, "radius.internet_service_set", product, **fields)
    write_reply_attributes(service)
    if before is not None and before != (service.download_kbps, service.upload_kbps):
        # A speed change reaches the open sessions on this product: CoA in this transaction (D127).
        from tripleplay.radius import selectors

        enqueue_coas(actor, selectors.active_sessions_on_product(product.pk),
                     f"Product/Internet/Changed: {product.code} {service.download_kbps}/{service.upload_kbps} kbit/s")
    return service


def reply_attribute_rows(service) -> list[tuple[str, int, str, str]]:
    """(vendor, position, attribute, value) of every vendor's reply attributes for ``service`` (an
    InternetService, or the migration's historical one): radius.attributes' answer, nothing recomputed.
    A vendor's reply with a value rlm_sql would unquote gets no rows: the SQL path cannot carry it, and
    the database function answers nothing for it, leaving those requests to the rest path (D271, D291)."""
    attrs = ServiceAttributes(service.download_kbps, service.upload_kbps, service.address_pool,
                              service.session_timeout_seconds, service.idle_timeout_seconds,
                              service.interim_interval_seconds)
    rows = []
    for vendor in BY_VENDOR:
        reply = reply_attributes(vendor, attrs)
        if not any(rlm_sql_unquotes(value) for value in reply.values()):
            rows += [(vendor, position, name, value) for position, (name, value) in enumerate(reply.items())]
    return rows


def rlm_sql_unquotes(value: str) -> bool:
    """Whether rlm_sql would take a reply value for a quoted string and unquote or expand it (sql.c: a
    value wholly inside ', " or ` quotes)."""
    return bool(value) and value[0] in "'\"`" and value[-1] == value[0]


def write_reply_attributes(service: InternetService) -> None:
    """The product's materialised reply attributes (D271), replaced in the caller's transaction."""
    ReplyAttribute.objects.filter(product_id=service.product_id).delete()
    ReplyAttribute.objects.bulk_create(
        ReplyAttribute(product_id=service.product_id, vendor=vendor, position=position, attribute=name, value=value)
        for vendor, position, name, value in reply_attribute_rows(service))


@transaction.atomic
def set_internet_password(actor: Actor, account: Account, password: str) -> InternetLogin:
    """The account's internet password (its username is the account's login)."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    if not account.login:
        raise InvalidInput("the account has no login to use as its internet username", details={"field": "login"})
    if account.status == Status.CLOSED:
        raise Conflict("the account is closed", code="account_closed")
    password = v.text(password, "password", required=True, max_length=128)
    if len(password) < 6:
        raise InvalidInput("password must be at least 6 characters", details={"field": "password"})
    now = clock.now()
    # Both forms at once (D270): the encrypted one for the rest path (CHAP, MS-CHAP), the one-way one
    # for FreeRADIUS's pap on the SQL path; a change reaches both paths with this commit.
    stored = {"customer_id": account.customer_id, "password_encrypted": secrets.encrypt(password),
              "password_ssha512": ssha512(password)}
    login, _ = InternetLogin.objects.update_or_create(
        account=account, defaults={**stored, "updated_at": now},
        create_defaults={**stored, "created_at": now, "updated_at": now})
    record(actor, "radius.password_set", account)
    return login


# -- what FreeRADIUS reports -------------------------------------------------------------------------------


def record_login(nas: NasClient, account_id: int) -> None:
    """post-auth after an Access-Accept: when and where the login last authenticated (one UPDATE)."""
    InternetLogin.objects.filter(account_id=account_id).update(last_auth_at=clock.now(), last_nas=nas)


def record_login_of(nas: NasClient, username: str) -> int:
    """record_login by the login (the User-Name): one UPDATE, nothing for a login without an internet
    password. Returns the rows updated (0 or 1)."""
    if not username:
        return 0
    sql = _LOGIN_SQL.format(login=InternetLogin._meta.db_table, account=Account._meta.db_table)
    if connection.vendor == "postgresql":
        # Informational, and written on every Access-Accept: not worth a WAL flush of its own (D211).
        # set_config(..., true) is this statement's transaction's (autocommit: its own) and is read
        # at its commit; the uncorrelated sub-select runs once, before the rows are updated.
        sql += " AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL"
    return prepared.execute(sql, [clock.now(), nas.pk, username])


# hand-written: the queryset's compilation cost more than the UPDATE (D210)
_LOGIN_SQL = ("UPDATE {login} SET last_auth_at = %s, last_nas_id = %s"
              " WHERE account_id IN (SELECT id FROM {account} WHERE login = %s)")


def _first(attrs: dict, name: str) -> str | None:
    values = attrs.get(name)
    return values[0] if values else None


def _int(attrs: dict, name: str) -> int:
    try:
        return min(max(0, int(_first(attrs, name) or 0)), 2**32 - 1)
    except ValueError:
        return 0


MAX_COUNTER = 2**63 - 1  # the 64-bit columns; RADIUS integers are 32-bit, octets with Gigawords 64


def _octets(attrs: dict, direction: str) -> int:
    octets = (_int(attrs, f"Acct-{direction}-Gigawords") << 32) + _int(attrs, f"Acct-{direction}-Octets")
    return min(octets, MAX_COUNTER)


def _address_or_none(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None  # a NAS's malformed Framed-IP-Address is not worth refusing the accounting for


class Accounting(InvalidInput):
    """An accounting request tripleplay cannot use (no status type, no session id)."""

    code = "invalid_accounting"


def record_accounting(nas: NasClient, attrs: dict[str, list[str]]) -> str:
    """One Accounting-Request as FreeRADIUS forwards it (attribute name -> values). Returns what it did.

    Counters are cumulative (RFC 2866), so a retransmission or a late duplicate changes nothing: a
    Start for a known session, an Interim-Update whose counters are not above the stored ones, a Stop
    for a stopped session are acknowledged and ignored. Accounting-On/Off (the NAS restarted) stop
    every session the NAS had open."""
    status_type = _first(attrs, "Acct-Status-Type")
    now = clock.now() - timedelta(seconds=min(_int(attrs, "Acct-Delay-Time"), 3600))
    if status_type in ("Accounting-On", "Accounting-Off"):
        with transaction.atomic():
            open_sessions = list(NetworkSession.objects.select_for_update().filter(nas=nas, status=SessionStatus.ACTIVE)
                                 .order_by("id"))
            for session in open_sessions:  # the fast path's reports first (D295): the counters it took
                charging.take_window_reports(session)
            NetworkSession.objects.filter(pk__in=[s.pk for s in open_sessions]).update(
                status=SessionStatus.STOPPED, stopped_at=now, updated_at=now, terminate_cause=f"NAS {status_type}")
            for session in open_sessions:  # charged for what was last reported: the NAS lost the rest
                charging.stopped(session)
        return f"{status_type}: {len(open_sessions)} sessions stopped"
    session_id = _first(attrs, "Acct-Session-Id")
    if status_type not in ("Start", "Interim-Update", "Stop") or not session_id:
        raise Accounting(f"unsupported accounting request (Acct-Status-Type {status_type!r})")
    username = (_first(attrs, "User-Name") or "")[:253]
    counters = {"input_octets": _octets(attrs, "Input"), "output_octets": _octets(attrs, "Output"),
                "session_time_seconds": _int(attrs, "Acct-Session-Time")}
    framed_ip = _address_or_none(_first(attrs, "Framed-IP-Address"))
    if status_type == "Interim-Update":
        done = (charging.interim_in_window(nas, session_id[:64], counters, framed_ip, now)  # D280
                or charging.interim_in_db(nas.pk, session_id[:64], counters, framed_ip, now))  # D212
        if done is not None:
            return done
    with transaction.atomic():
        locked = NetworkSession.objects.select_for_update().filter(nas=nas, acct_session_id=session_id[:64])
        session, created = locked.first(), False
        if session is None:
            # With its customer: the charging session's start below takes it as read (D298).
            account = Account.objects.select_related("customer").filter(login=username).first() if username else None
            started = now - timedelta(seconds=counters["session_time_seconds"])
            try:
                with transaction.atomic():  # a savepoint: a duplicate racing us may have created it first
                    session = NetworkSession.objects.create(
                        nas=nas, acct_session_id=session_id[:64], username=username, account=account,
                        customer_id=account.customer_id if account else None, framed_ip=framed_ip,
                        started_at=started, updated_at=now, **counters)
                created = True
            except IntegrityError:
                session = locked.get()  # the other request's row, committed (the unique index waited for it)
        if created and status_type != "Stop":
            answer = charging.started(session, account=account)
            if charging.must_disconnect_at_start(answer):
                enqueue_disconnects(Actor.system("charging"), NetworkSession.objects.filter(pk=session.pk),
                                    f"Charging: start refused ({answer['code']})")
            return f"{status_type}: session {session.pk} started ({answer['result']}: {answer['code']})"
        if session.status == SessionStatus.STOPPED:
            return f"{status_type}: session {session.pk} already stopped, ignored"
        session.nas = nas
        charging.take_window_reports(session)  # what the fast path took is the row's first (D295)
        not_newer = all(getattr(session, k) >= value for k, value in counters.items())
        if status_type == "Start" or (status_type == "Interim-Update" and not_newer):
            return f"{status_type}: session {session.pk} unchanged"  # a retransmission or a late duplicate
        previous = {k: getattr(session, k) for k in counters}
        for key, value in counters.items():
            setattr(session, key, max(previous[key], value))
        session.framed_ip = framed_ip or session.framed_ip
        session.updated_at = now
        if status_type == "Interim-Update":
            session.interim_updates += 1
        if status_type == "Stop":
            session.status, session.stopped_at = SessionStatus.STOPPED, now
            session.terminate_cause = (_first(attrs, "Acct-Terminate-Cause") or "")[:64]
        session.save()
        # Charged in the same transaction (radius/charging.py): cumulative counters, so exactly once.
        answer = charging.stopped(session) if status_type == "Stop" else charging.reported(session)
        return f"{status_type}: session {session.pk} updated ({answer['result']}: {answer['code']})"


# -- the Disconnect outbox ---------------------------------------------------------------------------------


def enqueue_disconnects(actor: Actor, sessions, reason: str) -> list[NasCommand]:
    """One pending Disconnect-Request per open session of ``sessions`` (none twice), in the caller's
    transaction (the billing change's, or the charging report's)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("disconnects are enqueued inside the billing change's transaction")
    now = clock.now()
    out = []
    # Locked first: a status change then takes its sessions' rows in a report's order (NAS session row,
    # then the charging session row, whose window the sessions app closes after this, D295).
    for session in sessions.select_related("nas").select_for_update(of=("self",)).order_by("id"):
        # A session about to end needs no new rate: a CoA not yet in flight is cancelled (D128).
        NasCommand.objects.filter(session=session, kind=CommandKind.COA, status=CommandStatus.PENDING,
                                  lease_owner="").update(status=CommandStatus.CANCELLED, finished_at=now,
                                                         next_attempt_at=None, last_error="superseded by a disconnect",
                                                         updated_at=now)
        if NasCommand.objects.filter(session=session, kind=CommandKind.DISCONNECT, status=CommandStatus.PENDING).exists():
            continue  # one is queued already: the NAS is asked once
        out.append(NasCommand.objects.create(
            session=session, nas=session.nas, customer_id=session.customer_id, kind=CommandKind.DISCONNECT,
            reason=reason[:200], next_attempt_at=now, actor_name=actor.name[:150], created_at=now, updated_at=now))
    return out


def enqueue_coas(actor: Actor, sessions, reason: str) -> list[NasCommand]:
    """One pending CoA-Request per open session of ``sessions`` carrying the rate it should have now
    (selectors.desired_rate_attributes), in the caller's transaction (D127). A session with a pending
    CoA gets that command's attributes rewritten (the NAS is asked once, with the newest rate; one sent
    meanwhile is sent again by the sender when it finishes, radius.coa); a session with a pending
    Disconnect-Request, or no internet service now, gets none."""
    from tripleplay.radius import selectors

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("CoA requests are enqueued inside the billing change's transaction")
    now = clock.now()
    out = []
    for session in sessions.filter(status=SessionStatus.ACTIVE).select_related("nas").order_by("id"):
        attributes = selectors.desired_rate_attributes(session)
        if attributes is None:
            continue
        pending = NasCommand.objects.filter(session=session, status=CommandStatus.PENDING)
        if pending.filter(kind=CommandKind.DISCONNECT).exists():
            continue
        # Locked: a sender finishing it meanwhile makes it done, and then a new one is written (PostgreSQL
        # re-reads the row after the lock and it no longer matches "pending").
        queued = pending.filter(kind=CommandKind.COA).select_for_update().first()
        if queued is not None:
            queued.attributes, queued.reason = attributes, reason[:200]
            if not queued.lease_owner:
                queued.next_attempt_at = now
            queued.updated_at = now
            queued.save(update_fields=["attributes", "reason", "next_attempt_at", "updated_at"])
            out.append(queued)
            continue
        out.append(NasCommand.objects.create(
            session=session, nas=session.nas, customer_id=session.customer_id, kind=CommandKind.COA,
            reason=reason[:200], attributes=attributes, next_attempt_at=now, actor_name=actor.name[:150],
            created_at=now, updated_at=now))
    return out


def coa_on_main_product_change(actor: Actor, account: Account, event: str) -> list[NasCommand]:
    """customers.hooks.ACCOUNT_CHANGED: a new main product (its internet rates) reaches the account's
    open sessions as a CoA-Request (a product effective later is applied by the reconciliation)."""
    if event != "Account/Product/Changed" or account.status != Status.ACTIVE:
        return []
    from tripleplay.customers.models import AccountProduct, AssignmentRole

    latest = AccountProduct.objects.filter(account=account, role=AssignmentRole.MAIN).order_by("-id").first()
    if latest is not None and latest.start_date > clock.today():
        return []  # dated for a later day: the rate in force is unchanged until then (the reconciliation applies it)
    return enqueue_coas(actor, NetworkSession.objects.filter(account=account, status=SessionStatus.ACTIVE), event)


def disconnect_on_must_end(event: SessionMustEnd) -> list[NasCommand]:
    """sessions.hooks.SESSION_MUST_END: a NAS's session whose quota could not be renewed (funds spent),
    or whose account or customer is no longer allowed, gets a Disconnect-Request through the outbox,
    in the report's transaction. Other clients' sessions (softswitches) are not a NAS's."""
    if not event.client.startswith(charging.CLIENT_PREFIX):
        return []
    sessions = NetworkSession.objects.filter(nas_id=int(event.client[len(charging.CLIENT_PREFIX):]),
                                             acct_session_id=event.session_id, status=SessionStatus.ACTIVE)
    return enqueue_disconnects(Actor.system("charging"), sessions, f"Charging: {event.reason} ({event.code})")


def disconnect_customer_if_barred(actor: Actor, customer: Customer, event: str) -> list[NasCommand]:
    """customers.hooks.CUSTOMER_CHANGED: a customer no longer active loses its open sessions."""
    if customer.status == Status.ACTIVE:
        return []
    sessions = NetworkSession.objects.filter(customer=customer, status=SessionStatus.ACTIVE)
    return enqueue_disconnects(actor, sessions, f"{event}: customer {customer.status}")


def disconnect_account_if_barred(actor: Actor, account: Account, event: str) -> list[NasCommand]:
    """customers.hooks.ACCOUNT_CHANGED: an account no longer active (or of a barred customer)."""
    held = on_hold(account)  # a started vacation hold (D153)
    if account.status == Status.ACTIVE and account.customer.status == Status.ACTIVE and not held:
        return []
    sessions = NetworkSession.objects.filter(account=account, status=SessionStatus.ACTIVE)
    return enqueue_disconnects(actor, sessions, f"{event}: account {'on hold' if held else account.status}")


@transaction.atomic
def disconnect_session(actor: Actor, session: NetworkSession, *, reason: str = "operator") -> NasCommand:
    """An operator's disconnect button."""
    session = NetworkSession.objects.select_for_update().get(pk=session.pk)
    if session.status != SessionStatus.ACTIVE:
        raise Conflict("the session has ended", code="session_ended")
    reason = v.text(reason, "reason", max_length=200) or "operator"
    commands = enqueue_disconnects(actor, NetworkSession.objects.filter(pk=session.pk), f"Operator/Disconnect: {reason}")
    command = commands[0] if commands else NasCommand.objects.get(session=session, status=CommandStatus.PENDING)
    record(actor, "radius.disconnect_requested", session, reason=reason)
    return command


@transaction.atomic
def retry_command(actor: Actor, command: NasCommand) -> NasCommand:
    """Send a failed (dead-lettered) command again now."""
    command = NasCommand.objects.select_for_update().get(pk=command.pk)
    if command.status != CommandStatus.FAILED:
        raise Conflict(f"command {command.pk} is {command.status}, not failed", code="nothing_to_retry")
    if NasCommand.objects.filter(session_id=command.session_id, kind=command.kind, status=CommandStatus.PENDING).exists():
        raise Conflict("another command for this session is queued", code="already_queued")
    command.status, command.attempts, command.next_attempt_at = CommandStatus.PENDING, 0, clock.now()
    command.finished_at, command.updated_at = None, command.next_attempt_at
    if command.kind == CommandKind.COA:  # the rate the session should have now, not the one that failed
        from tripleplay.radius import selectors

        command.attributes = selectors.desired_rate_attributes(command.session) or command.attributes
    command.save(update_fields=["status", "attempts", "next_attempt_at", "finished_at", "attributes", "updated_at"])
    record(actor, "radius.command_retried", command)
    return command


@transaction.atomic
def cancel_command(actor: Actor, command: NasCommand) -> NasCommand:
    command = NasCommand.objects.select_for_update().get(pk=command.pk)
    if command.status not in (CommandStatus.PENDING, CommandStatus.FAILED):
        raise Conflict(f"command {command.pk} is {command.status}", code="nothing_to_cancel")
    command.status, command.finished_at, command.next_attempt_at = CommandStatus.CANCELLED, clock.now(), None
    command.updated_at = command.finished_at
    command.save(update_fields=["status", "finished_at", "next_attempt_at", "updated_at"])
    record(actor, "radius.command_cancelled", command)
    return command


def rotate_secrets(actor: Actor) -> dict[str, int]:
    """Every NAS secret and internet password encrypted again with the first credentials key
    (iptv/secrets.py, `tripleplay rotate-credentials`), in the caller's transaction; an audit event per
    NAS (passwords are many and change nothing anyone sees: counted, not audited one by one)."""
    try:
        nases = secrets.rotate_rows(NasClient.objects.all(), ("secret_encrypted",))
        logins = secrets.rotate_rows(InternetLogin.objects.all(), ("password_encrypted",))
    except ValueError as e:
        raise Conflict(str(e), code="credentials_unreadable") from None
    for nas in nases:
        record(actor, "radius.nas_secret_rotated", nas)
    return {"nas_secrets": len(nases), "internet_passwords": len(logins)}

