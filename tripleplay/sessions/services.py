"""Real-time charging sessions: start, update, stop, and the sweep of silent sessions; one core for
data (RADIUS accounting) and voice (a softswitch's JSON API). Rules and wire format: docs/sessions.md.

A reader follows a report from the edge (tripleplay/api/sessions.py, or the RADIUS app) here, then
into rating (the rate and the allowances: ``rating.services.find_rate``, ``consume_allowances``),
sessions/quota.py (the maths) and the ledger (``place_hold``, ``capture_hold``, ``release_hold``,
``post_charge``).

- start: find the account (data: its login; voice: the caller's phone number), refuse unless it and
  its customer are active, find the rate (the cascade, fixed for the session), reserve a quota:
  a ledger hold for what the quota costs after the free units left.
- update: usage is CUMULATIVE since the start (RADIUS Acct-Session-Time / octets, a switch's
  elapsed seconds). The cumulative usage's cost minus what was charged is taken from the hold
  (capture), the next quota reserved. A repeated report charges nothing; a ``sequence`` at or below
  the last one applied is a retry (the first answer replayed) or stale (nothing changes).
- stop: charge the rest, release the reservation, end the session.

Locks (docs/concurrency.md): the session row first (``select_for_update``), then allowance usage
rows, then the funds row, then hold rows, each by the ledger's single conditional UPDATEs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from time import perf_counter

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Least
from django.utils import timezone
from psycopg.types.json import Jsonb

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core.actors import Actor, ActorKind
from tripleplay.core.answers import Answer
from tripleplay.core.errors import Conflict, InsufficientFunds, InvalidInput
from tripleplay.core.validation import unstorable_problem
from tripleplay.customers.models import Account, Customer, Status
from tripleplay.ledger import selectors as ledger_selectors
from tripleplay.ledger import services as ledger
from tripleplay.ledger.models import Funds, HoldStatus
from tripleplay.ledger.services import HoldExpired, HoldNotActive
from tripleplay.money import Money, currency_exponent, rounding_mode
from tripleplay.rating import pricing
from tripleplay.rating import services as rating
from tripleplay.sessions import decision, quota
from tripleplay.sessions.hooks import SESSION_MUST_END, SessionMustEnd
from tripleplay.sessions.metrics import measured
from tripleplay.sessions.models import ChargingSession, ChargingWindow, EndReason, SessionStatus, Softswitch
from tripleplay.sessions.selectors import lay_window_over

XDR_SOURCE = "session"
MAX_USAGE = 2**62  # bounds every reported counter (bigint columns, with room for sums)
MAX_SEQUENCE = 2**62
_RESERVE_ATTEMPTS = 5  # a reservation refused because funds moved since they were read is retried
HOLD_GRACE = timedelta(seconds=120)  # the hold outlives the session's deadline: the sweeper ends it first


def client_actor(client: str) -> Actor:
    return Actor(ActorKind.API_CLIENT, client, client)


# -- settings ---------------------------------------------------------------------------------------


def default_quota(service_type: str) -> int:
    """The quota reserved per start or update, in wire units (seconds, bytes)."""
    if service_type == pricing.VOICE:
        return settings.TRIPLEPLAY_SESSION_QUOTA_SECONDS
    return settings.TRIPLEPLAY_SESSION_QUOTA_BYTES


def max_quota(service_type: str) -> int:
    """The most a client may ask to reserve at once (``requested``), in wire units."""
    if service_type == pricing.VOICE:
        return settings.TRIPLEPLAY_SESSION_MAX_SECONDS
    return settings.TRIPLEPLAY_SESSION_MAX_BYTES


def idle_timeout() -> timedelta:
    return timedelta(seconds=settings.TRIPLEPLAY_SESSION_IDLE_SECONDS)


def fast_windows_on() -> bool:
    """Whether a windowed session's reports get a fast window (D280): PostgreSQL with the database
    functions on (the window is only ever read by radius_sql_interim) and a window length set."""
    return settings.TRIPLEPLAY_SESSION_FAST_WINDOW_SECONDS > 0 and db_functions_on()


def fast_until(now: datetime) -> datetime | None:
    """When a window opened now closes: after TRIPLEPLAY_SESSION_FAST_WINDOW_SECONDS, and the settle
    lead before the next local midnight at the latest (every bill-cycle boundary is a midnight: the
    settle job posts what a window charged before the boundary, so it is on its period's invoice).
    None when that is not after ``now``."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(now) + timedelta(days=1), dtime.min),
                                   timezone.get_default_timezone())
    until = min(now + timedelta(seconds=settings.TRIPLEPLAY_SESSION_FAST_WINDOW_SECONDS),
                midnight - timedelta(seconds=settings.TRIPLEPLAY_SESSION_FAST_SETTLE_LEAD_SECONDS))
    return until if until > now else None


@dataclass(frozen=True)
class Reported:
    """A client's counters with a report (D295): wire units each way, seconds, and the address it gave
    the session (RADIUS: Acct-Input/Output-Octets with their gigawords, Acct-Session-Time,
    Framed-IP-Address). Stored with the window, so that the fast path can tell a retransmission."""

    input: int
    output: int
    seconds: int
    address: str | None = None


@dataclass(frozen=True)
class Heard:
    """What a report gives the window it may open (D295): the client's key of the session (None: the
    window keeps the key it has, if any) and the client's counters (None: none with this report).
    Passed down from start and update to ``_open_window``; the settle job opens windows with ``SILENT``."""

    key: str | None = None
    reported: Reported | None = None


SILENT = Heard()


def _open_window(s: ChargingSession, until: datetime, steps: list[quota.Step], heard: Heard, *,
                 new_session: bool = False) -> None:
    """Write the session's window row (D296): the steps, the hold it is opened with, its end, the
    session's charged state, the client's key and counters (each counter the greater of the stored and
    the report's; the reports not yet taken by the client stay). A key names one session: one left on
    another window (its session ended, its NAS moved) is dropped first. ``new_session``: the session
    row was inserted in this transaction (a start), so it has no window row yet: none is read (D298)."""
    key, reported = heard.key, heard.reported
    if key is not None:
        ChargingWindow.objects.filter(key=key).exclude(session_id=s.pk).update(key=None)
    w = None if new_session else ChargingWindow.objects.select_for_update().filter(session_id=s.pk).first()
    w = w or ChargingWindow(session=s)
    w.key = key if key is not None else w.key
    w.hold_id, w.until = s.hold_id, until
    w.steps = [n for st in steps for n in (st.limit_wire, st.billed, st.charged_minor)]
    w.used_wire, w.billed, w.charged_minor, w.last_seen_at = s.used_wire, s.billed, s.charged_minor, s.last_seen_at
    if reported is not None:
        w.reported_input = max(w.reported_input, min(reported.input, MAX_USAGE))
        w.reported_output = max(w.reported_output, min(reported.output, MAX_USAGE))
        w.reported_seconds = max(w.reported_seconds, min(reported.seconds, MAX_USAGE))
        w.reported_address = reported.address or w.reported_address
    # A new row is an INSERT at once: save() would first try an UPDATE (the primary key is the
    # session's, given), a statement that writes nothing (D298). Window rows are created only under
    # the session row's lock, so no other one can appear in between.
    w.save(force_insert=w._state.adding)


def _close_window(s: ChargingSession, *, forget_key: bool = False) -> None:
    """The session's window closed (a post, the end): the function finds nothing open to charge."""
    if s.windowed:
        changes = {"until": None, **({"key": None} if forget_key else {})}
        ChargingWindow.objects.filter(session_id=s.pk).update(**changes)


def _fold(s: ChargingSession) -> None:
    """What the function charged in the session's window, into ``s`` (under the session's lock; the
    window row locked after it): each of used_wire, billed, charged_minor, last_seen_at the greater.
    Everything is cumulative, so folding again changes nothing."""
    w = (ChargingWindow.objects.select_for_update().filter(session_id=s.pk)
         .only("used_wire", "billed", "charged_minor", "last_seen_at").first())
    if w is not None:
        lay_window_over(s, w)


# -- input ------------------------------------------------------------------------------------------


def _ref(value, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or unstorable_problem(value) \
            or not value.isprintable():
        raise InvalidInput(f"{field} must be 1..{max_length} printable characters", details={"field": field})
    return value.strip()


def _count(value, field: str, maximum: int, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidInput(f"{field} must be an integer {minimum}..{maximum}", details={"field": field})
    return value


def _service(value) -> str:
    if value not in quota.SESSION_SERVICES:
        raise InvalidInput(f"service_type must be one of {', '.join(quota.SESSION_SERVICES)}",
                           details={"field": "service_type"})
    return value


def _number(value, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    digits = text[1:] if text.startswith("+") else text
    if not digits.isdigit() or not 3 <= len(digits) <= 15:
        raise InvalidInput(f"{field} must be 3..15 digits, optionally with a leading +", details={"field": field})
    return digits


def _want(service_type: str, requested: int | None) -> int:
    """The quota to reserve next, in wire units."""
    if requested is None:
        return default_quota(service_type)
    return _count(requested, "requested", max_quota(service_type), minimum=1)


# -- answers ----------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _body(s: ChargingSession, result: str, code: str, message: str, *, final: bool = False,
          available: int | None = None) -> dict:
    granted = quota.wire_units(s.service_type, s.granted)
    return {"result": result, "code": code, "message": message, "session_id": s.session_id, "session": s.pk,
            "service_type": s.service_type, "unit": quota.WIRE_UNIT[s.service_type], "used": s.used_wire,
            "granted": granted, "remaining": max(granted - s.used_wire, 0), "final": final,
            "charged_minor": s.charged_minor, "currency": s.currency, "available_minor": available,
            "status": s.status, "end_reason": s.end_reason or None, "expires_at": _iso(s.expires_at)}


def _refused(session_id: str, service_type: str, refusal: decision.Refusal, available: int | None = None) -> Answer:
    return Answer.of(200, result="refused", code=refusal.code, message=refusal.message, session_id=session_id,
                     session=None, service_type=service_type, unit=quota.WIRE_UNIT[service_type], used=0, granted=0,
                     remaining=0, final=True, charged_minor=0, currency=None, available_minor=available,
                     status=None, end_reason=None, expires_at=None)


def unknown(session_id: str) -> Answer:
    return Answer.of(404, result="error", code="unknown_session", message="no such session for this client",
                     session_id=session_id)


def describe(s: ChargingSession) -> Answer:
    """A session's state in the answer shape (a client asking about its own session)."""
    return Answer.of(200, **_body(s, s.status, s.end_reason or "ok", f"the session is {s.status}"))


def _replay(s: ChargingSession, call: str) -> Answer:
    stored = s.answers[call]
    return Answer.of(stored.get("_http", 200), **{k: v for k, v in stored.items() if not k.startswith("_")})


def _store(s: ChargingSession, call: str, answer: Answer) -> Answer:
    s.answers = {**s.answers, call: {**answer, "_http": answer.http_status}}
    return answer


def _available(customer_id: int) -> int:
    return Funds.objects.get(customer_id=customer_id).available_minor


# -- start ------------------------------------------------------------------------------------------


@measured("start")
def start(client: str, *, session_id: str, service_type: str, subscriber: str, destination: str | None = None,
          requested: int | None = None, by: str | None = None, windowed: bool = False,
          window_key: str | None = None, reported: Reported | None = None, account: Account | None = None) -> Answer:
    """Start a session of ``service_type`` for ``subscriber`` (data: an account login; voice: the
    caller's phone number; ``by`` = "login" or "phone_number" overrides) and reserve its first quota
    (``requested`` wire units, default the service's quota). Idempotent by (client, session id).
    ``windowed``: the client's reports may be charged inside a fast window (D280; RADIUS, whose NAS is
    not told its grant, so a window that does not slide with each report changes nothing it sees);
    ``window_key``: the client's own name of the session, by which the fast path finds it (D295);
    ``reported``: the client's counters with this report. ``account``: the subscriber's account with
    its customer (``select_related``) when the caller has just read it in its transaction (RADIUS,
    D298): taken if it is the one ``by`` names, else the account is read here."""
    client = _ref(client, "client", 64)
    session_id = _ref(session_id, "session_id", 200)
    service_type = _service(service_type)
    by = by or ("phone_number" if service_type == pricing.VOICE else "login")
    if by not in ("login", "phone_number"):
        raise InvalidInput("by must be login or phone_number", details={"field": "by"})
    subscriber = _number(subscriber, "subscriber") if by == "phone_number" else _ref(subscriber, "subscriber", 100)
    if service_type == pricing.VOICE:
        destination = _number(destination, "destination")
    elif destination is not None:
        raise InvalidInput("destination is for voice sessions only", details={"field": "destination"})
    want = _want(service_type, requested)
    request = {"service_type": service_type, "subscriber": subscriber, "destination": destination or "",
               "requested": requested, "by": by}
    existing = ChargingSession.objects.filter(client=client, session_id=session_id).first()
    if existing is not None:
        return _replay_start(existing, request)
    try:
        with transaction.atomic():
            return _start(client, session_id, service_type, subscriber, by, destination or "", want, request,
                          windowed, Heard(window_key if windowed else None, reported), account)
    except IntegrityError:
        # The same session id raced us and won; everything of ours rolled back: answer as it did.
        existing = ChargingSession.objects.filter(client=client, session_id=session_id).first()
        if existing is None:
            raise
        return _replay_start(existing, request)


def _replay_start(s: ChargingSession, request: dict) -> Answer:
    if s.answers.get("request") != request:
        return Answer.of(409, result="error", code="session_id_reused",
                         message=f"session {s.session_id} was started with other parameters", session_id=s.session_id,
                         session=s.pk)
    return _replay(s, "start")


def _start(client, session_id, service_type, subscriber, by, destination, want, request, windowed,
           heard: Heard, account=None) -> Answer:
    if account is None or getattr(account, by) != subscriber:
        account = Account.objects.select_related("customer").filter(**{by: subscriber}).first()
    if account is None:
        return _refused(session_id, service_type, decision.unknown_subscriber(by.replace("_", " "), subscriber))
    customer = account.customer
    refusal = decision.status_refusal(account.status, customer.status)
    if refusal is not None:
        return _refused(session_id, service_type, refusal)
    now = clock.now()
    try:
        found = rating.find_rate(account, customer.currency, service_type, destination, now)
    except rating.Unratable as e:
        return _refused(session_id, service_type, decision.Refusal(e.code, e.reason))
    terms = found.choice.terms
    s = ChargingSession(
        client=client, session_id=session_id, service_type=service_type, customer=customer, account=account,
        subscriber=subscriber, destination=destination, rate_id=found.choice.rate_id,
        price_per_unit_micros=terms.price_per_unit_micros, connection_fee_micros=terms.connection_fee_micros,
        first_increment=terms.first_increment, next_increment=terms.next_increment, offpeak=found.choice.offpeak,
        currency=customer.currency, started_at=now, last_seen_at=now, expires_at=now, answers={"request": request},
        windowed=windowed)
    s.save()
    actor = client_actor(client)
    granted = _reserve(actor, s, customer, found.assignments, want, heard, new_session=True)
    if granted == 0:
        # Nothing could be reserved: the session never starts. Like every refusal it is not stored
        # (the row rolls back), so a retry after a top-up is decided again.
        available = _available(customer.pk)
        transaction.set_rollback(True)
        return _refused(session_id, service_type, decision.Refusal(
            decision.INSUFFICIENT_FUNDS, "available funds do not cover the first unit"), available)
    record(actor, "session.started", s, account=account.pk, service_type=service_type, rate=s.rate_id,
           granted=s.granted)
    # The funds after the hold: place_hold's RETURNING, read under the funds row's lock that this
    # transaction keeps until it commits, so the same value as a re-read (D298).
    available = getattr(s.hold, "available_after_minor", None)
    answer = Answer.of(200, **_body(s, "granted", "ok", "quota granted", final=granted < quota.base_units(
        service_type, want), available=_available(customer.pk) if available is None else available))
    _store(s, "start", answer)
    # Only what changed since the INSERT above (D299): the grant and its deadline, the hold, the window's
    # end, the answer. Every other column was written by the INSERT and is unchanged (a test compares
    # the stored row with the object, field by field).
    s.save(update_fields=_STARTED_FIELDS)
    return answer


# The columns _reserve and _store change after a start's INSERT (D299).
_STARTED_FIELDS = ("granted", "expires_at", "hold", "holds_placed", "fast_until", "fast_idle_seconds", "answers")


# -- the money of a report ---------------------------------------------------------------------------


def _tariff(s: ChargingSession) -> quota.Tariff:
    return quota.Tariff(s.service_type, pricing.RateTerms(s.price_per_unit_micros, s.connection_fee_micros,
                                                          s.first_increment, s.next_increment),
                        currency_exponent(s.currency), rounding_mode(None))


def _usage(s: ChargingSession) -> quota.Usage:
    return quota.Usage(s.used, s.billed, s.free, s.charged_minor)


def _day(s: ChargingSession):
    return timezone.localdate(s.started_at)


def _assignments(s: ChargingSession):
    """The subscriptions whose allowances the session draws from: those current on its start day
    (the start decides, as an xDR's start does), in the cascade's order."""
    from tripleplay.rating import cascade

    day = _day(s)
    rows = s.account.products.select_related("plan", "product").all()
    return sorted((a for a in rows if cascade.is_current(a.start_date, a.end_date, day)),
                  key=lambda a: cascade.subscription_order(a.role, a.pk))


def _charge_usage(actor: Actor, s: ChargingSession, used_wire: int, assignments) -> None:
    """Charge cumulative usage ``used_wire``: free units first, then the money, from the session's
    hold (a capture) when it covers it, else as usage that happened (the hold released, the charge
    posted whatever the funds). Leaves the session without a hold. Writes the interval's xDR."""
    used_wire = max(used_wire, s.used_wire)
    tariff = _tariff(s)
    used = quota.base_units(s.service_type, used_wire)
    billed_to = max(tariff.billed(max(used, s.used)), s.billed)
    free_taken = rating.consume_allowances(assignments, s.service_type, _day(s), billed_to - s.billed) \
        if billed_to > s.billed else 0
    c = quota.charge(tariff, _usage(s), used, free_taken)
    # What to post: everything charged since the last post, this report's and a fast window's (D280).
    post_minor, post_billed = c.after.charged_minor - s.posted_minor, c.after.billed - s.posted_billed
    hold, entry = s.hold, None
    interval = s.charges + 1
    if post_minor > 0:
        amount = Money(post_minor, s.currency)
        description = _description(s, post_billed)
        data = {"services": {s.service_type: {"cost_minor": post_minor, "count": 0 if s.posted_minor else 1}},
                "session": s.pk, "interval": interval, "billed": post_billed, "free": c.free_delta}
        if hold is not None and post_minor <= hold.amount_minor:
            try:
                entry = ledger.capture_hold(actor, hold, amount=amount, description=description,
                                            service_type=s.service_type, source=rating.USAGE_SOURCE, data=data)
            except (HoldExpired, HoldNotActive):
                entry = None
        if entry is None:
            if hold is not None:
                _release(actor, hold, "usage beyond the reservation")
            # Usage that happened is billed whatever the funds (as rating does): the client used more
            # than it was granted, or its reservation lapsed.
            entry = ledger.post_charge(actor, s.customer, amount, description=description,
                                       idempotency_key=f"session:{s.pk}:charge:{interval}", account=s.account,
                                       service_type=s.service_type, source=rating.USAGE_SOURCE, data=data)
    elif hold is not None:
        _release(actor, hold, "no charge for this report")
    if post_billed > 0:
        delta_wire = used_wire - s.posted_wire
        rating.store_rated(
            actor, source=XDR_SOURCE, external_id=f"{s.pk}:{interval}", account=s.account,
            service_type=s.service_type, started_at=s.started_at, rate_id=s.rate_id, offpeak=s.offpeak,
            billed=post_billed, free=c.free_delta, cost=Money(post_minor, s.currency), entry=entry,
            raw={"client": s.client, "session_id": s.session_id, "interval": interval, "used": used_wire},
            caller=s.subscriber if s.service_type == pricing.VOICE else "", callee=s.destination,
            login=s.subscriber if s.service_type == pricing.DATA else "",
            duration_seconds=delta_wire if s.service_type == pricing.VOICE else None,
            bytes_=delta_wire if s.service_type == pricing.DATA else None)
        s.charges = interval
    s.hold = None
    s.used_wire, s.used, s.billed, s.free, s.charged_minor = (used_wire, c.after.used, c.after.billed, c.after.free,
                                                              c.after.charged_minor)
    s.posted_minor, s.posted_billed, s.posted_wire = s.charged_minor, s.billed, s.used_wire
    s.fast_until = None  # the window went with the hold
    _close_window(s)


def _release(actor: Actor, hold, reason: str) -> None:
    try:
        ledger.release_hold(actor, hold, reason=reason)
    except HoldNotActive:  # captured: cannot happen for a session's current hold, which is captured only here
        raise


def _description(s: ChargingSession, billed: int) -> str:
    if s.service_type == pricing.VOICE:
        return f"Call to {s.destination}, {billed} s billed"
    return f"Data session {s.session_id[:60]}, {billed} KB billed"


def _deadline(s: ChargingSession, now: datetime) -> datetime:
    """When the sweeper ends the session if nothing more is heard: the idle timeout after the last
    report, plus (voice) the seconds still granted: a call may run its grant without reporting."""
    deadline = now + idle_timeout()
    if s.service_type == pricing.VOICE:
        deadline += timedelta(seconds=max(s.granted - s.used, 0))
    return deadline


def _reserve(actor: Actor, s: ChargingSession, customer: Customer, assignments, want_wire: int,
             heard: Heard, *, new_session: bool = False) -> int:
    """Reserve the next quota (at most ``want_wire`` beyond the usage): the largest grant the
    available funds cover after the free units left, by one conditional UPDATE of the funds row
    (ledger.place_hold). Funds read before it may have moved: a refusal is retried with a fresh read.
    Sets the session's grant, hold and deadline; returns the base units granted (0: none)."""
    tariff = _tariff(s)
    want = quota.base_units(s.service_type, want_wire)
    free_left = rating.allowance_left(assignments, s.service_type, _day(s))
    now = clock.now()
    # A fast window (D280) when the session asks for one and no free units are left to draw from.
    until = fast_until(now) if s.windowed and free_left == 0 and fast_windows_on() else None
    units, before = 0, s.granted
    for _ in range(_RESERVE_ATTEMPTS):
        g = quota.grant(tariff, _usage(s), want, free_left, _available(customer.pk))
        if g.units == 0 or g.reserve_minor == 0:
            units = g.units
            break
        s.granted = s.used + g.units
        s.expires_at = _deadline(s, now)  # the hold must outlive the deadline of the grant it pays for
        # ... and, with a window, every deadline the window's reports set (at most fast_until + idle)
        hold_until = max(s.expires_at, until + idle_timeout()) if until else s.expires_at
        try:
            s.hold = ledger.place_hold(actor, customer, Money(g.reserve_minor, s.currency),
                                       idempotency_key=f"session:{s.pk}:hold:{s.holds_placed + 1}",
                                       expires_at=hold_until + HOLD_GRACE, account=s.account,
                                       reference=f"session:{s.pk}", description=f"{s.service_type} session quota",
                                       caller_dedupes=True)
        except InsufficientFunds:
            s.granted = before
            continue
        s.holds_placed += 1
        units = g.units
        if until is not None:
            steps = quota.window(tariff, _usage(s), s.granted)
            s.fast_until, s.fast_idle_seconds = until, settings.TRIPLEPLAY_SESSION_IDLE_SECONDS
            _open_window(s, until, steps, heard, new_session=new_session)
        break
    s.granted = max(s.granted, s.used + units) if units else s.granted
    s.expires_at = _deadline(s, now)
    return units


def _must_end(s: ChargingSession, reason: str, code: str) -> None:
    s.must_end = reason
    SESSION_MUST_END(SessionMustEnd(s.pk, s.client, s.session_id, s.account_id, s.customer_id, reason, code))


# -- update and stop --------------------------------------------------------------------------------


def _locked(client: str, session_id: str) -> ChargingSession | None:
    """The session row, locked. Its hold, account and customer are read AFTER the lock, never joined
    into the locking SELECT: on PostgreSQL a SELECT ... FOR UPDATE that waited for a concurrent
    report re-reads the session's new row version but re-checks the join against the hold row it
    had found before the wait (EvalPlanQual), so it answered "no hold" while the other report had
    placed one: the hold was orphaned and the next charge went uncovered. The 200-thread test in
    test_sessions_concurrency.py caught it (docs/concurrency.md)."""
    s = ChargingSession.objects.select_for_update().filter(client=client, session_id=session_id).first()
    if s is not None:
        s.hold  # noqa: B018 -- loaded now, under the lock
        if s.windowed:
            _fold(s)
    return s


@measured("update")
def update(client: str, *, session_id: str, used: int, sequence: int | None = None,
           requested: int | None = None, window_key: str | None = None, reported: Reported | None = None) -> Answer:
    """Charge the cumulative usage ``used`` (wire units since the start) and reserve the next quota.
    Idempotent: a report that adds no usage charges nothing; with a ``sequence``, one at or below
    the last applied is a retry (its first answer) or stale (nothing changes). ``window_key`` and
    ``reported`` as for ``start`` (kept by the Python path; the one-call path of D212 runs only when
    no window can open, and the next window's opening takes them again)."""
    client = _ref(client, "client", 64)
    session_id = _ref(session_id, "session_id", 200)
    used = _count(used, "used", MAX_USAGE)
    if sequence is not None:
        sequence = _count(sequence, "sequence", MAX_SEQUENCE)
    if db_functions_on():
        answer = charge_in_db(client, session_id, used, sequence=sequence, requested=requested)
        if answer is not None:
            return answer
    with transaction.atomic():
        s = _locked(client, session_id)
        if s is None:
            return unknown(session_id)
        want = _want(s.service_type, requested)
        if s.status != SessionStatus.ACTIVE:
            return Answer.of(409, **_body(s, "error", "session_ended", f"the session has ended ({s.end_reason})"))
        if sequence is not None and s.last_sequence is not None and sequence <= s.last_sequence:
            stored = s.answers.get("update")
            if sequence == s.last_sequence and stored is not None:
                if stored.get("_used") != used:
                    return Answer.of(409, **_body(s, "error", "sequence_reused",
                                                  f"sequence {sequence} was reported with other usage"))
                return _replay(s, "update")
            return Answer.of(200, **_body(s, "updated", "stale_sequence",
                                          f"sequence {sequence} is older than {s.last_sequence}: nothing changed",
                                          available=_available(s.customer_id)))
        answer = _update(s, used, want, Heard(window_key if s.windowed else None, reported))
        if sequence is not None:
            s.last_sequence = sequence
            s.answers = {**s.answers, "update": {**answer, "_http": answer.http_status, "_used": used}}
        s.save()
        return answer


# -- update as one database function (PostgreSQL, D212) -----------------------------------------------

# The operator's switch is settings.TRIPLEPLAY_SESSION_DB_FUNCTIONS (env TRIPLEPLAY_SESSION_DB_FUNCTIONS=0);
# this one is the tests', which turn the function off to compare both paths on the same database.
USE_DB_FUNCTIONS = True
_SNAPSHOT_FIELDS = tuple(f.attname for f in ChargingSession._meta.concrete_fields
                         if f.attname != "answers")
# What prepare_update reads, as columns and a join tree a caller may embed in its own read (the
# RADIUS app joins it to the NAS's session row: one statement for both, radius/charging.py).
SNAPSHOT_COLUMNS = (
    f"{', '.join('s.' + f for f in _SNAPSHOT_FIELDS)}, h.status, h.amount_minor, h.expires_at, a.status,"
    f" c.status, {ledger_selectors.available_sql('f')},"
    " EXISTS (SELECT 1 FROM customers_accountproduct ap JOIN catalog_planallowance pa ON pa.plan_id = ap.plan_id"
    " WHERE ap.account_id = s.account_id AND pa.service_type = s.service_type),"
    " (SELECT w.used_wire FROM charging_sessions_chargingwindow w WHERE w.session_id = s.id)")
SNAPSHOT_JOINS = (
    f"charging_sessions_chargingsession s {ledger_selectors.hold_join_sql('h', 's.hold_id')}"
    " JOIN customers_account a ON a.id = s.account_id JOIN customers_customer c ON c.id = s.customer_id"
    f" {ledger_selectors.funds_join_sql('f', 's.customer_id')}")
_SNAPSHOT_SQL = f"SELECT {SNAPSHOT_COLUMNS} FROM {SNAPSHOT_JOINS} WHERE s.client = %s AND s.session_id = %s"
TP001 = "TP001"  # raised by the functions when what they were asked to write no longer holds


class PreparedUpdate:
    """An update computed in Python from one read of the session (the guards and the state to write,
    in sessions_update_charge's parameter order), and its answer once the function ran."""

    # sessions_update_charge's parameter types: each placeholder is cast, so that the prepared
    # statement is one whatever the Python values' sizes (psycopg types an int by its value).
    TYPES = ("bigint", "bigint", "integer", "integer", "bigint", "bigint", "timestamptz",
             "bigint", "text", "text", "jsonb", "bigint",
             "bigint", "bigint", "text", "jsonb", "text", "text", "text", "integer", "bigint",
             "bigint", "timestamptz",
             "bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "timestamptz", "bigint", "jsonb",
             "text", "text", "text")

    def __init__(self, params: list, answer):
        assert len(params) == len(self.TYPES)
        self.params, self.answer = params, answer

    def placeholders(self, first: int = 1) -> str:
        """``$first::type, ...``: this update's part of a call's parameter list."""
        return ", ".join(f"${first + i}::{t}" for i, t in enumerate(self.TYPES))


def prepare_update(client: str, session_id: str, used: int, sequence: int | None = None,
                   requested: int | None = None, *, row: tuple | None = None) -> PreparedUpdate | None:
    """The common case of ``update`` (new usage on an active session, no allowances, the session's
    hold covering the charge, funds for a next quota) computed from one read, for the database
    function; None for every other case (the Python path decides it, under the session's lock).
    ``client``, ``session_id``, ``used`` and ``sequence`` are already validated; ``row`` is the
    session's SNAPSHOT_COLUMNS if the caller read them (else they are read here)."""
    from tripleplay.core import prepared

    if row is None:
        row = prepared.fetch_one(_SNAPSHOT_SQL, [client, session_id])
    if row is None or row[0] is None:
        return None
    n = len(_SNAPSHOT_FIELDS)
    s = ChargingSession.from_db(DEFAULT_DB_ALIAS, _SNAPSHOT_FIELDS, row[:n])
    hold_status, hold_minor, hold_expires, account_status, customer_status, available, allowances, window = row[n:]
    now = clock.now()
    if (s.status != SessionStatus.ACTIVE or allowances or s.hold_id is None or hold_status != HoldStatus.ACTIVE
            or s.posted_minor != s.charged_minor
            or (window is not None and window > s.used_wire)  # the fast window charged more (D296): Python folds it
            # a windowed session whose next window can open now: Python opens it (D280); one that
            # cannot (the settle lead before midnight, D281) is this function's common case as any
            or (s.windowed and fast_windows_on() and fast_until(now) is not None)
            or hold_expires <= now or used <= s.used_wire
            or decision.status_refusal(account_status, customer_status) is not None
            or (sequence is not None and s.last_sequence is not None and sequence <= s.last_sequence)):
        return None
    want = _want(s.service_type, requested)
    tariff = _tariff(s)
    c = quota.charge(tariff, _usage(s), quota.base_units(s.service_type, used), 0)
    if not 0 < c.amount_minor <= hold_minor:
        return None
    available_after_capture = available + hold_minor - c.amount_minor
    want_base = quota.base_units(s.service_type, want)
    g = quota.grant(tariff, c.after, want_base, 0, available_after_capture)
    if g.units == 0 or g.reserve_minor == 0:
        return None
    was = (s.pk, s.used_wire, s.charges, s.holds_placed, s.hold_id, s.charged_minor)
    interval = s.charges + 1
    data = {"services": {s.service_type: {"cost_minor": c.amount_minor, "count": 0 if s.charged_minor else 1}},
            "session": s.pk, "interval": interval, "billed": c.billed_delta, "free": c.free_delta}
    delta_wire = used - s.used_wire
    voice = s.service_type == pricing.VOICE
    raw = {"client": s.client, "session_id": s.session_id, "interval": interval, "used": used}
    s.used_wire, s.used, s.billed, s.free, s.charged_minor = (used, c.after.used, c.after.billed, c.after.free,
                                                              c.after.charged_minor)
    s.granted = s.used + g.units
    s.expires_at = _deadline(s, now)
    s.holds_placed += 1
    s.charges = interval if c.billed_delta > 0 else s.charges
    s.must_end, s.last_seen_at = "", now
    final = g.units < want_base
    actor = client_actor(s.client)
    answer_fields = _body(s, "granted", "ok", "usage charged, quota granted", final=final)
    stored = {**answer_fields, "_http": 200, "_used": used} if sequence is not None else None
    params = [*was, now,
              c.amount_minor, _description(s, c.billed_delta), rating.USAGE_SOURCE, Jsonb(data),
              available_after_capture,
              c.billed_delta, c.free_delta, XDR_SOURCE, Jsonb(raw), s.subscriber if voice else "", s.destination,
              "" if voice else s.subscriber, delta_wire if voice else None, None if voice else delta_wire,
              g.reserve_minor, s.expires_at + HOLD_GRACE,
              s.used_wire, s.used, s.billed, s.free, s.charged_minor, s.granted, s.expires_at, sequence,
              Jsonb(stored) if stored is not None else None,
              str(actor.kind), actor.ref, actor.name]

    def answer(available_minor: int) -> Answer:
        return Answer.of(200, **{**answer_fields, "available_minor": available_minor})

    return PreparedUpdate(params, answer)


def db_functions_on() -> bool:
    """Whether reports may be charged by the database function (PostgreSQL, both switches on)."""
    return (USE_DB_FUNCTIONS and settings.TRIPLEPLAY_SESSION_DB_FUNCTIONS
            and connections[DEFAULT_DB_ALIAS].vendor == "postgresql")


FUNCTIONS = ("sessions_update_charge", "radius_interim_update")  # the functions charge_in_db may call


def charge_in_db(client: str, session_id: str, used: int, *, sequence: int | None = None,
                 requested: int | None = None, function: str = "sessions_update_charge",
                 leading: tuple[list, tuple[str, ...]] = ([], ()), count: bool = False,
                 row: tuple | None = None) -> Answer | None:
    """``update``'s common case in one call of ``function`` (PostgreSQL): its answer, or None when
    nothing was written and the Python path decides the call. ``leading`` is (values, SQL types) of the
    parameters ``function`` takes before sessions_update_charge's (radius_interim_update: the
    NAS's session row); ``count`` counts and times the answer as ``update``'s (a caller that does not
    go through ``update``); ``row``: the session's SNAPSHOT_COLUMNS, read by the caller."""
    started = perf_counter()
    if function not in FUNCTIONS:
        raise ValueError(f"not a charging function: {function}")
    call = prepare_update(client, session_id, used, sequence, requested, row=row)
    if call is None:
        return None
    values, types = leading
    head = [f"${i + 1}::{t}" for i, t in enumerate(types)]
    sql = f"SELECT {function}({', '.join([*head, call.placeholders(len(types) + 1)])})"
    available = run_db_function(connections[DEFAULT_DB_ALIAS], sql, [*values, *call.params])
    if available is None:
        return None
    answer = call.answer(available)
    if count:
        from tripleplay.sessions.metrics import DECISIONS, LATENCY

        LATENCY.labels("update").observe(perf_counter() - started)
        DECISIONS.labels("update", answer["result"]).inc()
    return answer


def run_db_function(db, sql: str, params: list):
    """One call of a charging function, prepared: its own transaction (autocommit), or a savepoint
    inside the caller's. None when it answered NULL, or raised TP001 (rolled back whole): the Python
    path decides the call."""
    from django.db import DatabaseError

    from tripleplay.core import prepared

    try:
        with transaction.atomic(savepoint=True) if db.in_atomic_block else nullcontext():
            row = prepared.fetch_one(sql, params)
    except DatabaseError as e:
        if getattr(e.__cause__, "sqlstate", None) == TP001:
            return None
        raise
    return row[0] if row else None


def _update(s: ChargingSession, used: int, want: int, heard: Heard) -> Answer:
    actor = client_actor(s.client)
    now = clock.now()
    s.last_seen_at = now
    customer, account = s.customer, s.account
    refusal = decision.status_refusal(account.status, customer.status)
    if used <= s.used_wire and s.hold is not None and s.hold.status == HoldStatus.ACTIVE and refusal is None:
        # Nothing new (a retransmission, or an idle session): no money moves; the session is alive.
        s.expires_at = _deadline(s, now)
        return Answer.of(200, **_body(s, "updated", "ok", "no new usage", available=_available(customer.pk)))
    assignments = _assignments(s)
    _charge_usage(actor, s, used, assignments)
    if refusal is not None:
        s.granted = s.used  # nothing more is allowed: the reservation went with the charge
        s.expires_at = _deadline(s, now)
        if s.must_end != decision.NOT_ALLOWED:
            _must_end(s, decision.NOT_ALLOWED, refusal.code)
        return Answer.of(200, **_body(s, "refused", refusal.code, refusal.message, final=True,
                                      available=_available(customer.pk)))
    granted = _reserve(actor, s, customer, assignments, want, heard)
    remaining = max(s.granted - s.used, 0)
    if remaining == 0:
        if s.must_end != decision.QUOTA_EXHAUSTED:
            _must_end(s, decision.QUOTA_EXHAUSTED, decision.INSUFFICIENT_FUNDS)
        return Answer.of(200, **_body(s, "exhausted", decision.INSUFFICIENT_FUNDS,
                                      "available funds do not cover another unit", final=True,
                                      available=_available(customer.pk)))
    s.must_end = ""
    final = granted < quota.base_units(s.service_type, want)
    return Answer.of(200, **_body(s, "granted", "ok", "usage charged, quota granted", final=final,
                                  available=_available(customer.pk)))


@measured("stop")
def stop(client: str, *, session_id: str, used: int, reported: Reported | None = None) -> Answer:
    """Charge the rest of the cumulative usage ``used``, release the reservation, end the session.
    An unknown session is answered (404) and an ended one replayed; neither changes anything."""
    client = _ref(client, "client", 64)
    session_id = _ref(session_id, "session_id", 200)
    used = _count(used, "used", MAX_USAGE)
    with transaction.atomic():
        s = _locked(client, session_id)
        if s is None:
            return unknown(session_id)
        if s.status != SessionStatus.ACTIVE:
            if "stop" in s.answers:
                return _replay(s, "stop")
            return Answer.of(200, **_body(s, "ended", "already_ended", f"the session had ended ({s.end_reason})"))
        actor = client_actor(s.client)
        now = clock.now()
        _charge_usage(actor, s, used, _assignments(s))
        s.status, s.end_reason, s.ended_at, s.last_seen_at = SessionStatus.ENDED, EndReason.STOPPED, now, now
        _close_window(s, forget_key=True)
        record(actor, "session.stopped", s, used=s.used_wire, charged_minor=s.charged_minor)
        answer = Answer.of(200, **_body(s, "stopped", "ok", "session ended", available=_available(s.customer_id)))
        _store(s, "stop", answer)
        s.save()
        return answer


def silent_deadline(s: ChargingSession) -> datetime:
    """When the session is silent: its deadline, or, for a windowed one, the idle timeout after the last
    report if later (radius_sql_interim writes last_seen_at, never expires_at: an indexed column
    would make its UPDATE a non-HOT one, D280)."""
    if s.windowed and s.fast_idle_seconds:
        return max(s.expires_at, s.last_seen_at + timedelta(seconds=s.fast_idle_seconds))
    return s.expires_at


# -- the sweeper ------------------------------------------------------------------------------------


def sweep_silent(limit: int = 1000) -> int:
    """End the sessions not heard from by their deadline (a scheduled job; any time, anywhere): the
    usage last reported was charged when it was reported, so what is left is to release the
    reservation and end the session. Returns how many were ended."""
    now = clock.now()
    due = list(ChargingSession.objects.filter(status=SessionStatus.ACTIVE, expires_at__lte=now)
               .order_by("expires_at").values_list("client", "session_id")[:limit])
    ended = 0
    actor = Actor.system("session-sweeper")
    for client, session_id in due:
        with transaction.atomic():
            s = _locked(client, session_id)
            if s is None or s.status != SessionStatus.ACTIVE or s.expires_at > clock.now():
                continue  # reported or stopped meanwhile
            if silent_deadline(s) > clock.now():  # heard through its fast window: the deadline catches up
                s.expires_at = silent_deadline(s)
                s.save(update_fields=["expires_at"])
                continue
            if s.charged_minor > s.posted_minor:  # a fast window's charges: posted from its hold (D280)
                _charge_usage(client_actor(s.client), s, s.used_wire, _assignments(s))
            if s.hold is not None:
                _release(actor, s.hold, "session timed out")
            s.hold = None
            _close_window(s, forget_key=True)
            s.status, s.end_reason, s.ended_at = SessionStatus.ENDED, EndReason.TIMED_OUT, clock.now()
            record(actor, "session.timed_out", s, used=s.used_wire, charged_minor=s.charged_minor,
                   last_seen_at=_iso(s.last_seen_at))
            s.save()
            ended += 1
    return ended


def settle_windows(limit: int = 1000) -> int:
    """Post what fast windows charged once their window has closed (fast_until passed), before the
    bill-cycle boundary the window stops short of (D280, D281): each such session's pending charge is
    captured from its hold (an entry and the interval's xDR, as a report without new usage would post
    it in Python) and its next hold and window placed; its deadline is left as it was. A scheduled
    job (before the sweeper, which posts the window of a session it ends); a session reported
    meanwhile was settled by that report. Returns how many were settled."""
    now = clock.now()
    due = list(ChargingSession.objects.filter(Q(charged_minor__gt=F("posted_minor"))
                                              | Q(window__charged_minor__gt=F("posted_minor")),
                                              status=SessionStatus.ACTIVE, fast_until__lte=now)
               .order_by("fast_until").values_list("client", "session_id")[:limit])
    settled = 0
    for client, session_id in due:
        with transaction.atomic():
            s = _locked(client, session_id)
            now = clock.now()
            if (s is None or s.status != SessionStatus.ACTIVE or s.charged_minor == s.posted_minor
                    or s.fast_until is None or s.fast_until > now or silent_deadline(s) <= now):
                continue  # reported, stopped or due for the sweeper (which posts it) meanwhile
            heard = (s.last_seen_at, silent_deadline(s))
            actor, assignments = client_actor(s.client), _assignments(s)
            _charge_usage(actor, s, s.used_wire, assignments)  # the window's charges, from its hold
            # The next hold and window, if the session may have them. No SESSION_MUST_END here: its
            # handlers lock the client's own rows (the RADIUS app: an outbox row referencing the NAS
            # session row), which the client's reports lock before this row, so the job must not;
            # the session's next report (or the sweeper) decides a refusal or exhausted funds.
            units = 0
            if decision.status_refusal(s.account.status, s.customer.status) is None:
                units = _reserve(actor, s, s.customer, assignments, default_quota(s.service_type), SILENT)
            if units == 0:
                s.granted = s.used
            # Settling is not hearing from the session: its deadline stays (the new hold outlives it).
            s.last_seen_at, s.expires_at = heard
            s.save()
            settled += 1
    return settled


# -- the fast path's side (D295) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """The reports the fast path took since the client last asked: the counters as last reported, how
    many reports, and when the last was heard."""

    reported: Reported
    reports: int
    last_seen_at: datetime


def take_reports(client: str, session_id: str) -> Taken | None:
    """What radius_sql_interim took for the session since the client last asked, handed over once
    (the count zeroed): the client folds it into its own record of the session (RADIUS: the NAS
    session row's counters and interim count). None when it took none. Locks the session row, then
    its window row (the order of every writer but the function, which takes only the window row), so
    the caller takes its own row first (the report's lock order, docs/concurrency.md)."""
    with transaction.atomic():
        s = ChargingSession.objects.select_for_update().filter(client=client, session_id=session_id).only("id").first()
        w = ChargingWindow.objects.select_for_update().filter(session_id=s.pk, reports__gt=0).first() if s else None
        if w is None:
            return None
        ChargingWindow.objects.filter(pk=w.pk).update(reports=0)
        return Taken(Reported(w.reported_input, w.reported_output, w.reported_seconds, w.reported_address),
                     w.reports, w.last_seen_at)


def close_windows(*, client: str | None = None, account_id: int | None = None, customer_id: int | None = None,
                  forget_keys: bool = False) -> int:
    """Close the open fast windows of a client's, an account's or a customer's sessions now (D295):
    the database function reads no status, so whatever would make the Python path refuse a report
    (an account or customer no longer active, a NAS disabled) closes the windows in its own
    transaction, and the next report is the Python path's. What they charged is posted by that
    report, the Stop, the sweeper or the settle job (fast_until is brought to now, not cleared).
    ``forget_keys``: also drop the sessions' fast-path keys (the client's names changed: a NAS's
    address). Returns how many sessions changed."""
    match = Q(client=client) if client is not None else Q(account_id=account_id) if account_id is not None \
        else Q(customer_id=customer_id)
    now = clock.now()
    rows = ChargingSession.objects.filter(match, status=SessionStatus.ACTIVE)
    # The session rows first, then their windows: a report's order (docs/concurrency.md).
    closed = rows.filter(fast_until__gt=now).update(fast_until=Least(F("fast_until"), now))
    windows = ChargingWindow.objects.filter(session__in=rows.values("pk"))
    windows.filter(until__gt=now).update(until=now)
    if forget_keys:
        closed += windows.filter(key__isnull=False).update(key=None)
    return closed


def close_windows_of_customer(actor: Actor, customer: Customer, event: str) -> int:
    """customers.hooks.CUSTOMER_CHANGED: a customer no longer active has no open window."""
    if decision.status_refusal(Status.ACTIVE, customer.status) is None:
        return 0
    return close_windows(customer_id=customer.pk)


def close_windows_of_account(actor: Actor, account: Account, event: str) -> int:
    """customers.hooks.ACCOUNT_CHANGED: an account no longer active (or of a customer no longer active)."""
    if decision.status_refusal(account.status, account.customer.status) is None:
        return 0
    return close_windows(account_id=account.pk)


# -- softswitches -----------------------------------------------------------------------------------

TOKEN_PREFIX = "tps_"
TOKEN_PREFIX_LEN = 12


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_softswitch(actor: Actor, *, code: str, name: str = "") -> tuple[Softswitch, str]:
    """A voice switch allowed on the sessions API; returns it and its token (shown once)."""
    code = _ref(code, "code", 50)
    name = (name or code).strip()[:200]
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            switch = Softswitch.objects.create(code=code, name=name, token_prefix=token[:TOKEN_PREFIX_LEN],
                                               token_hash=_hash(token), created_at=clock.now())
            record(actor, "softswitch.created", switch, code=code)
    except IntegrityError as e:
        raise Conflict(f"a softswitch {code!r} exists", code="duplicate") from e
    return switch, token


def softswitch_for_token(token: str) -> Softswitch | None:
    """The enabled switch this bearer token belongs to, or None."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _hash(token)
    for switch in Softswitch.objects.filter(token_prefix=token[:TOKEN_PREFIX_LEN], enabled=True):
        if hmac.compare_digest(switch.token_hash, digest):
            return switch
    return None
