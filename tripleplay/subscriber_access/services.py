"""Writes of portal access (docs/selfcare.md): invitations and password resets by single-use,
expiring links sent by e-mail, login with throttling, sessions that expire, password change,
disabling by an operator.

Throttling: a refused login writes a LoginFailure row; a login is refused without checking the
password while the identity has TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_IDENTITY failures, or the client
address TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_ADDRESS, within TRIPLEPLAY_PORTAL_THROTTLE_SECONDS.
A token is consumed by one conditional UPDATE (unused and not expired, row count checked), so two
concurrent uses of one link set the password once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core import validation as v
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied, Throttled
from tripleplay.customers.models import Customer, Status
from tripleplay.subscriber_access import selectors
from tripleplay.subscriber_access.models import (
    LoginFailure,
    LoginStatus,
    PasswordToken,
    PortalSession,
    SubscriberLogin,
    TokenPurpose,
)

log = logging.getLogger("tripleplay.subscriber_access")
LANGUAGES = ("en", "de")
MAIL_ERRORS = (OSError, smtplib.SMTPException)
_DUMMY_HASH = make_password("tripleplay-no-such-login")  # checked when the identity is unknown: same cost


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class InvalidCredentials(PermissionDenied):
    code = "invalid_credentials"
    http_status = 401


class MailNotSent(DomainError):
    """The mail server refused or did not answer, after the link was recorded: invite again (the
    new link revokes the unsent one)."""

    code = "mail_not_sent"
    http_status = 503


@dataclass(frozen=True)
class Invitation:
    login: SubscriberLogin
    link: str  # sent by e-mail; returned for the operator's audit-free view only in tests and the demo


def _link(token: str) -> str:
    return f"{settings.TRIPLEPLAY_PORTAL_URL.rstrip('/')}/my/password/{token}"


def _new_token(login: SubscriberLogin, purpose: str, ttl: timedelta, now) -> str:
    # A new link revokes the older ones: only the newest e-mail works.
    PasswordToken.objects.filter(login=login, used_at__isnull=True).update(used_at=now)
    raw = secrets.token_urlsafe(32)
    PasswordToken.objects.create(login=login, customer_id=login.customer_id, purpose=purpose, digest=digest(raw),
                                 created_at=now, expires_at=now + ttl)
    return raw


def _mail_on_commit(to: str, subject: str, body: str) -> None:
    # Sent after the commit: a rolled-back invitation sends nothing, and the raw link never rests in
    # the database. A failure surfaces from the commit as one of MAIL_ERRORS (D82).
    transaction.on_commit(lambda: send_mail(subject, body, None, [to]), robust=False)


def _end_sessions(login: SubscriberLogin, now) -> int:
    return PortalSession.objects.filter(login=login, ended_at__isnull=True).update(ended_at=now)


def invite(actor: Actor, customer: Customer) -> Invitation:
    """Create the customer's portal login if needed (or reopen a disabled one) and e-mail a link that
    sets its password, valid TRIPLEPLAY_PORTAL_INVITE_HOURS. An active login keeps its password until
    the link is used. MailNotSent (503) when the mail server fails after the commit."""
    try:
        return _invite(actor, customer)
    except MAIL_ERRORS as e:
        log.warning("portal invitation for customer #%s not e-mailed: %s", customer.pk, e)
        raise MailNotSent(f"the invitation could not be e-mailed ({type(e).__name__}): try again") from e


def _invite(actor: Actor, customer: Customer) -> Invitation:
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.status == Status.CLOSED:
            raise Conflict(f"customer #{customer.pk} is closed", code="customer_closed")
        if not customer.email:
            raise InvalidInput("the customer has no e-mail address to send the invitation to",
                               details={"field": "email"})
        now = clock.now()
        login, _ = SubscriberLogin.objects.select_for_update().get_or_create(
            customer=customer, defaults={"created_at": now})
        if login.status == LoginStatus.DISABLED:
            login.status, login.password, login.disabled_at = LoginStatus.INVITED, "", None
        login.invited_at = now
        login.save()
        raw = _new_token(login, TokenPurpose.INVITE, timedelta(hours=settings.TRIPLEPLAY_PORTAL_INVITE_HOURS), now)
        link = _link(raw)
        record(actor, "subscriber.invited", customer, login=login.pk)
        _mail_on_commit(customer.email, "Your Tripleplay self-care access",
                        f"Dear {customer.name},\n\nset your password for the self-care portal here:\n{link}\n\n"
                        f"The link works once, for {settings.TRIPLEPLAY_PORTAL_INVITE_HOURS} hours.\n")
    return Invitation(login, link)


def disable(actor: Actor, customer: Customer, *, reason: str) -> SubscriberLogin:
    """Close the portal to the customer: its sessions end and its unused links stop working."""
    reason = v.text(reason, "reason", required=True)
    with transaction.atomic():
        login = selectors.login_of(customer, lock=True)
        if login.status == LoginStatus.DISABLED:
            raise Conflict(f"portal access of customer #{customer.pk} is already disabled", code="already_disabled")
        now = clock.now()
        login.status, login.disabled_at = LoginStatus.DISABLED, now
        login.save(update_fields=["status", "disabled_at"])
        PasswordToken.objects.filter(login=login, used_at__isnull=True).update(used_at=now)
        ended = _end_sessions(login, now)
        record(actor, "subscriber.disabled", customer, login=login.pk, reason=reason, sessions_ended=ended)
    return login


def request_reset(identity: str) -> None:
    """E-mail a reset link (TRIPLEPLAY_PORTAL_RESET_MINUTES) to an active login's customer. Says
    nothing either way (no account discovery); at most one link per login every 5 minutes. A mail
    failure is logged, not shown (the subscriber asks again after the 5 minutes)."""
    identity = v.text(identity, "identity", max_length=254)
    try:
        _request_reset(identity)
    except MAIL_ERRORS as e:
        log.warning("portal reset link not e-mailed: %s", e)


def _request_reset(identity: str) -> None:
    with transaction.atomic():
        login = selectors.login_for_identity(identity)
        if login is None or login.status != LoginStatus.ACTIVE or not login.customer.email:
            return
        now = clock.now()
        login = SubscriberLogin.objects.select_for_update().get(pk=login.pk)
        if PasswordToken.objects.filter(login=login, purpose=TokenPurpose.RESET,
                                        created_at__gt=now - timedelta(minutes=5)).exists():
            return
        raw = _new_token(login, TokenPurpose.RESET, timedelta(minutes=settings.TRIPLEPLAY_PORTAL_RESET_MINUTES), now)
        record(Actor.subscriber(login.customer), "subscriber.reset_requested", login.customer, login=login.pk)
        _mail_on_commit(login.customer.email, "Reset your Tripleplay self-care password",
                        f"Set a new password here:\n{_link(raw)}\n\nThe link works once, for "
                        f"{settings.TRIPLEPLAY_PORTAL_RESET_MINUTES} minutes. If you did not ask, ignore this e-mail.\n")


def _check_password_rules(password: str, field: str = "password") -> str:
    if not isinstance(password, str):
        raise InvalidInput(f"{field} must be text", details={"field": field})
    v.storable(password, field)
    if len(password) > 200:
        raise InvalidInput(f"{field} is longer than 200 characters", details={"field": field})
    try:
        validate_password(password)
    except ValidationError as e:
        raise InvalidInput(" ".join(e.messages), details={"field": field}) from None
    return password


def set_password_with_token(token: str, password: str) -> SubscriberLogin:
    """Use a link once: set the password and make the login active; every session of the login ends."""
    _check_password_rules(password)
    with transaction.atomic():
        now = clock.now()
        row = PasswordToken.objects.filter(digest=digest(token or ""), used_at__isnull=True, expires_at__gt=now).first()
        if row is None or PasswordToken.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now) != 1:
            raise InvalidInput("this link has expired or was already used: ask for a new one",
                               code="invalid_token")
        login = SubscriberLogin.objects.select_for_update().select_related("customer").get(pk=row.login_id)
        if login.status == LoginStatus.DISABLED or login.customer.status == Status.CLOSED:
            raise InvalidInput("this link has expired or was already used: ask for a new one", code="invalid_token")
        login.password, login.status, login.password_set_at = make_password(password), LoginStatus.ACTIVE, now
        login.save(update_fields=["password", "status", "password_set_at"])
        _end_sessions(login, now)
        record(Actor.subscriber(login.customer), "subscriber.password_set", login.customer, login=login.pk,
               purpose=row.purpose)
    return login


def _throttled(identity: str, address: str, now) -> bool:
    since = now - timedelta(seconds=settings.TRIPLEPLAY_PORTAL_THROTTLE_SECONDS)
    recent = LoginFailure.objects.filter(at__gt=since)
    return (recent.filter(identity=identity).count() >= settings.TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_IDENTITY
            or (bool(address) and recent.filter(address=address).count()
                >= settings.TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_ADDRESS))


@dataclass(frozen=True)
class NewSession:
    login: SubscriberLogin
    key: str  # the cookie's value; only its digest is stored


def log_in(identity: str, password: str, *, address: str = "") -> NewSession:
    """A session for the login that ``identity`` (the customer's e-mail or one of its accounts'
    logins) names, when ``password`` is its password. Throttled (429) after too many failures."""
    identity = v.text(identity, "identity", max_length=254).lower()
    password = password if isinstance(password, str) else ""
    address = (address or "")[:45]
    now = clock.now()
    if _throttled(identity, address, now):
        raise Throttled("too many failed attempts: wait a few minutes and try again")
    login = selectors.login_for_identity(identity) if identity else None
    ok = check_password(password, login.password if login and login.password else _DUMMY_HASH)
    if not (ok and login and login.status == LoginStatus.ACTIVE and login.customer.status != Status.CLOSED):
        with transaction.atomic():
            LoginFailure.objects.create(identity=identity, address=address, at=now)
        raise InvalidCredentials("unknown login or wrong password")
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        PortalSession.objects.create(
            login=login, customer_id=login.customer_id, digest=digest(key), created_at=now, last_seen_at=now,
            expires_at=now + timedelta(seconds=settings.TRIPLEPLAY_PORTAL_SESSION_MAX_SECONDS), address=address)
        SubscriberLogin.objects.filter(pk=login.pk).update(last_login_at=now)
        LoginFailure.objects.filter(identity=identity).delete()
        record(Actor.subscriber(login.customer), "subscriber.logged_in", login.customer, login=login.pk,
               address=address)
    login.last_login_at = now
    return NewSession(login, key)


def session_login(key: str | None) -> SubscriberLogin | None:
    """The login a session cookie stands for, or None (unknown, ended, idle too long, past its end,
    login disabled, customer closed). Activity moves the idle deadline (written at most once a minute)."""
    if not key:
        return None
    now = clock.now()
    idle = timedelta(seconds=settings.TRIPLEPLAY_PORTAL_SESSION_IDLE_SECONDS)
    s = (PortalSession.objects.select_related("login__customer")
         .filter(digest=digest(key), ended_at__isnull=True, expires_at__gt=now, last_seen_at__gt=now - idle).first())
    if s is None or s.login.status != LoginStatus.ACTIVE or s.login.customer.status == Status.CLOSED:
        return None
    if now - s.last_seen_at > timedelta(seconds=60):
        PortalSession.objects.filter(pk=s.pk).update(last_seen_at=now)
    return s.login


def log_out(key: str | None) -> None:
    if key:
        PortalSession.objects.filter(digest=digest(key), ended_at__isnull=True).update(ended_at=clock.now())


def change_password(login: SubscriberLogin, *, current: str, new: str, keep_session: str | None = None) -> None:
    """The subscriber's own change: the current password must match; other sessions end."""
    _check_password_rules(new, "new_password")
    with transaction.atomic():
        login = SubscriberLogin.objects.select_for_update().select_related("customer").get(pk=login.pk)
        if not check_password(current if isinstance(current, str) else "", login.password):
            raise InvalidInput("the current password is wrong", code="wrong_password",
                               details={"field": "current_password"})
        now = clock.now()
        login.password, login.password_set_at = make_password(new), now
        login.save(update_fields=["password", "password_set_at"])
        others = PortalSession.objects.filter(login=login, ended_at__isnull=True)
        if keep_session:
            others = others.filter(~Q(digest=digest(keep_session)))
        others.update(ended_at=now)
        record(Actor.subscriber(login.customer), "subscriber.password_changed", login.customer, login=login.pk)


def set_language(login: SubscriberLogin, language: str) -> SubscriberLogin:
    language = v.choice(language, "language", ("", *LANGUAGES))
    SubscriberLogin.objects.filter(pk=login.pk).update(language=language)
    login.language = language
    return login


def forget_expired(keep_days: int = 30) -> tuple[int, int, int]:
    """Delete login failures older than the throttling window, sessions ended or expired, and links
    used or expired, more than ``keep_days`` ago (the audit trail keeps logins and password changes).
    Returns (failures, sessions, tokens) deleted."""
    now = clock.now()
    window = now - timedelta(seconds=settings.TRIPLEPLAY_PORTAL_THROTTLE_SECONDS)
    old = now - timedelta(days=keep_days)
    with transaction.atomic():
        failures = LoginFailure.objects.filter(at__lt=window).delete()[0]
        sessions = PortalSession.objects.filter(Q(ended_at__lt=old) | Q(expires_at__lt=old)).delete()[0]
        tokens = PasswordToken.objects.filter(Q(used_at__lt=old) | Q(expires_at__lt=old)).delete()[0]
    return failures, sessions, tokens
