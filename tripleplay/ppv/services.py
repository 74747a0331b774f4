"""Pay-per-view in real time: authorize, confirm, cancel, purchase (authorize + confirm), expire,
refund. The platform side calls these through the JSON and XML endpoints (tripleplay/api/ppv.py,
tripleplay/api/xml.py); a reader follows a purchase from the endpoint here and into
ledger.services (place_hold, capture_hold, release_hold).

Every call is idempotent by the platform's transaction id: the first answer to each of authorize,
confirm and cancel is stored on the purchase row and returned to every retry. Concurrency (docs/
concurrency.md): the funds check and the hold are one conditional UPDATE (ledger.place_hold);
confirm and cancel lock the purchase row first, then touch the funds row.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction

from tripleplay import clock
from tripleplay.catalog.models import ProductService, ServiceType
from tripleplay.core import prepared
from tripleplay.core.actors import Actor
from tripleplay.core.answers import Answer
from tripleplay.core.errors import Conflict, InsufficientFunds, InvalidInput
from tripleplay.customers.models import Account, AccountProduct, Customer
from tripleplay.iptv.models import CatalogItemStatus, Platform, PpvEvent, Subscriber
from tripleplay.ledger import services as ledger
from tripleplay.ledger.models import Funds
from tripleplay.ledger.services import HoldExpired, HoldNotActive
from tripleplay.money import Money
from tripleplay.ppv.decision import Asked, Found, decide
from tripleplay.ppv.metrics import measured
from tripleplay.ppv.models import PpvPurchase, PurchaseStatus

MAX_REF = 100

# PostgreSQL: the approving authorize and the charging confirm run as one database function each
# (ppv/sql/*.sql, whose money writes are the ledger's functions in ledger/sql/); every other case,
# and SQLite, take the Python path below. The operator's switch is
# settings.TRIPLEPLAY_PPV_DB_FUNCTIONS (env TRIPLEPLAY_PPV_DB_FUNCTIONS=0); this one is the tests',
# which turn the functions off to compare both paths on the same database.
USE_DB_FUNCTIONS = True
ANSWER_KEYS = ("result", "code", "message", "transaction_id", "authorization_id", "subscriber", "event_id",
               "amount_minor", "currency", "available_minor", "expires_at")


def hold_ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "TRIPLEPLAY_PPV_HOLD_SECONDS", 900))


def _ref(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_REF or not value.isprintable():
        raise InvalidInput(f"{field} must be 1..{MAX_REF} printable characters", details={"field": field})
    return value.strip()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _body(p: PpvPurchase, result: str, code: str, message: str, available: int | None = None) -> dict:
    return {"result": result, "code": code, "message": message, "transaction_id": p.transaction_id,
            "authorization_id": p.pk, "subscriber": p.subscriber_ref, "event_id": p.event_ref or None,
            "amount_minor": p.charged_minor if p.charged_minor is not None else p.price_minor,
            "currency": p.currency or None, "available_minor": available, "expires_at": _iso(p.expires_at)}


def _replay(p: PpvPurchase, call: str) -> Answer | None:
    """The answer first given to ``call`` for this purchase, exactly as it was."""
    stored = p.answers.get(call)
    if stored is None:
        return None
    body = {k: v for k, v in stored.items() if k != "_http"}
    body["authorization_id"] = p.pk
    return Answer.of(stored.get("_http", 200), **body)


def _store(p: PpvPurchase, call: str, answer: Answer, **fields) -> Answer:
    p.answers = {**p.answers, call: {**answer, "_http": answer.http_status}}
    for k, v in fields.items():
        setattr(p, k, v)
    p.save(update_fields=["answers", *fields])
    return answer


def _available(customer_id: int) -> int:
    return Funds.objects.get(customer_id=customer_id).available_minor


# -- authorize ------------------------------------------------------------------------------------


@measured("authorize")
def authorize(platform: Platform, *, transaction_id: str, subscriber: str, event_id: str | None = None,
              price_minor: int | None = None, currency: str | None = None) -> Answer:
    """May ``subscriber`` buy ``event_id`` (or something at an explicit price) now? Approve by placing
    a hold for the price, or decline with a reason code. Idempotent by transaction id."""
    transaction_id = _ref(transaction_id, "transaction_id")
    subscriber = _ref(subscriber, "subscriber")
    event_id = _ref(event_id, "event_id") if event_id is not None else None
    if event_id is None and price_minor is None:
        raise InvalidInput("give an event_id or an explicit price_minor", details={"field": "event_id"})
    if price_minor is not None and (isinstance(price_minor, bool) or not isinstance(price_minor, int)
                                    or price_minor < 0):
        raise InvalidInput("price_minor must be a non-negative integer of minor units", details={"field": "price_minor"})
    if currency is not None and (not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha()
                                 or not currency.isupper()):
        raise InvalidInput("currency must be an ISO 4217 code in capitals, e.g. USD", details={"field": "currency"})
    request = {"subscriber": subscriber, "event_id": event_id, "price_minor": price_minor, "currency": currency}
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy is a thread-local lookup
    if USE_DB_FUNCTIONS and settings.TRIPLEPLAY_PPV_DB_FUNCTIONS and db.vendor == "postgresql" and _bigint(price_minor):
        answer = _approve_in_db(db, platform, transaction_id, request)
        if answer is not None:
            return answer
    existing = PpvPurchase.objects.filter(platform=platform, transaction_id=transaction_id).first()
    if existing is not None:
        return _replay_authorize(existing, request)
    now = clock.now()
    p = PpvPurchase(platform=platform, transaction_id=transaction_id, subscriber_ref=subscriber,
                    event_ref=event_id or "", authorized_at=now, status=PurchaseStatus.DECLINED,
                    answers={"request": request})
    try:
        with transaction.atomic():
            answer = _decide(platform, p, event_id, price_minor, currency, now)
            p.answers["authorize"] = {**answer, "_http": answer.http_status}  # the id is added on replay
            p.save()
            answer["authorization_id"] = p.pk
            return answer
    except IntegrityError:
        # The same transaction id raced us and won: everything of ours rolled back; answer as it did.
        existing = PpvPurchase.objects.filter(platform=platform, transaction_id=transaction_id).first()
        if existing is None:
            raise
        return _replay_authorize(existing, request)


def _bigint(value) -> bool:
    """None, or an int PostgreSQL's bigint holds (anything else is the Python path's to refuse)."""
    return value is None or (type(value) is int and -(2 ** 63) <= value < 2 ** 63)


def _db_function(db, sql: str, params: list) -> Answer | None:
    """One call of a PPV database function: its own transaction (autocommit), or a savepoint inside
    the caller's. A unique violation (a concurrent duplicate won) rolls it back whole: None, and the
    Python path answers as the winner did."""
    try:
        with transaction.atomic(savepoint=True) if db.in_atomic_block else nullcontext():
            value = prepared.run(db, sql, params)[0]
    except IntegrityError:
        return None
    if value is None:
        return None
    body = json.loads(value) if isinstance(value, str) else value
    return Answer.of(200, **{k: body.get(k) for k in ANSWER_KEYS})


def _approve_in_db(db, platform: Platform, transaction_id: str, request: dict) -> Answer | None:
    """The approval with a hold in one round trip (ppv_authorize_approve), or None: nothing was
    written and the call is the Python path's (a retry, any decline, a price of 0, a race)."""
    now = clock.now()
    expires_at = now + hold_ttl()
    actor = Actor.platform(platform)
    return _db_function(
        db, "SELECT ppv_authorize_approve($1::bigint, $2::text, $3::text, $4::text, $5::bigint, $6::text,"
        " $7::timestamptz, $8::date, $9::timestamptz, $10::text, $11::jsonb, $12::text, $13::text, $14::text)",
        [platform.pk, transaction_id, request["subscriber"], request["event_id"], request["price_minor"],
         request["currency"], now, clock.today(), expires_at, _iso(expires_at), json.dumps(request),
         str(actor.kind), actor.ref, actor.name])


def _charge_in_db(db, platform: Platform, transaction_id: str | None, authorization_id: int | None,
                  amount_minor: int | None) -> Answer | None:
    """The confirm that charges an open authorization, in one round trip (ppv_confirm_charge), or
    None: nothing was written and the call is the Python path's."""
    actor = Actor.platform(platform)
    return _db_function(db, "SELECT ppv_confirm_charge($1::bigint, $2::text, $3::text, $4::bigint, $5::bigint,"
                        " $6::timestamptz, $7::text, $8::text, $9::text)",
                        [platform.pk, platform.code, transaction_id, authorization_id, amount_minor, clock.now(),
                         str(actor.kind), actor.ref, actor.name])


def _replay_authorize(p: PpvPurchase, request: dict) -> Answer:
    if p.answers.get("request") != request:
        return Answer.of(409, result="error", code="transaction_id_reused",
                         message=f"transaction {p.transaction_id} was authorized with other parameters",
                         transaction_id=p.transaction_id, authorization_id=p.pk)
    return _replay(p, "authorize")


def _decline(p: PpvPurchase, code: str, message: str, available: int | None = None) -> Answer:
    p.status, p.decline_code, p.finished_at = PurchaseStatus.DECLINED, code, p.authorized_at
    return Answer.of(200, **_body(p, "declined", code, message, available))


_LOOKUP_SQL: str | None = None


def _lookup_sql() -> str:
    """Subscriber, account, customer, the event and the PPV entitlement in one SELECT.

    The hot path of an authorization: as ORM queries these were four statements and most of the
    request's CPU went into building and compiling them. Table names come from the models so a
    rename cannot silently diverge; the event is a LEFT JOIN so an unknown event still finds the
    subscriber (the declines keep their order: subscriber, event, currency, status, entitlement)."""
    global _LOOKUP_SQL
    if _LOOKUP_SQL is None:
        t = {m.__name__: connection.ops.quote_name(m._meta.db_table)
             for m in (Subscriber, Account, Customer, PpvEvent, AccountProduct, ProductService)}
        _LOOKUP_SQL = f"""
            SELECT s.account_id, a.status, a.customer_id, c.status, c.currency,
                   e.id, e.title, e.content_owner, e.price_minor, e.currency,
                   CASE WHEN e.status = %s AND (e.starts_at IS NULL OR e.starts_at <= %s)
                             AND (e.ends_at IS NULL OR %s < e.ends_at) THEN 1 ELSE 0 END,
                   CASE WHEN EXISTS (
                       SELECT 1 FROM {t["AccountProduct"]} ap
                       JOIN {t["ProductService"]} ps ON ps.product_id = ap.product_id
                       WHERE ap.account_id = s.account_id AND ap.start_date <= %s AND ps.service_type = %s
                         AND (ap.end_date IS NULL OR ap.end_date > %s)) THEN 1 ELSE 0 END
            FROM {t["Subscriber"]} s
            JOIN {t["Account"]} a ON a.id = s.account_id
            JOIN {t["Customer"]} c ON c.id = a.customer_id
            LEFT JOIN {t["PpvEvent"]} e ON e.platform_id = s.platform_id AND e.external_id = %s
            WHERE s.platform_id = %s AND s.external_id = %s"""
    return _LOOKUP_SQL


def _decide(platform: Platform, p: PpvPurchase, event_id, price_minor, currency, now) -> Answer:
    ops = connection.ops
    today = ops.adapt_datefield_value(clock.today())
    at = ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_lookup_sql(), [CatalogItemStatus.ACTIVE, at, at, today, ServiceType.PPV, today,
                                       event_id or "", platform.pk, p.subscriber_ref])
        row = cursor.fetchone()
    found = None if row is None else Found._make(row)
    decision = decide(Asked(p.subscriber_ref, event_id, price_minor, currency), found)
    if found is None:
        return _decline(p, decision.refusal, decision.message)
    customer_id, customer_currency = found.customer_id, found.customer_currency
    terms = decision.terms  # a declined purchase records them as far as they were decided
    p.account_id, p.customer_id, p.event_id, p.title = found.account_id, customer_id, terms.event_pk, terms.title
    p.content_owner, p.price_minor, p.currency = terms.content_owner, terms.price_minor, terms.currency
    if decision.refusal is not None:
        return _decline(p, decision.refusal, decision.message)
    p.expires_at = now + hold_ttl()
    available = None
    if p.price_minor > 0:
        # place_hold reads only pk, status and currency of these: no need to load the rows.
        customer = Customer(pk=customer_id, status=found.customer_status, currency=customer_currency)
        account = Account(pk=found.account_id, customer_id=customer_id)
        try:
            p.hold = ledger.place_hold(Actor.platform(platform), customer, Money(p.price_minor, customer_currency),
                                       idempotency_key=f"ppv:{platform.pk}:{p.transaction_id}",
                                       expires_at=p.expires_at, account=account, reference=p.transaction_id[:100],
                                       description=f"PPV: {p.title}"[:200], caller_dedupes=True)
        except InsufficientFunds as e:
            p.expires_at = None
            return _decline(p, "insufficient_funds", "available funds do not cover the price",
                            e.details.get("available_minor"))
        except Conflict as e:  # closed by a concurrent request
            p.expires_at = None
            return _decline(p, e.code, e.message)
        available = p.hold.available_after_minor  # returned by the hold's own UPDATE
    p.status = PurchaseStatus.AUTHORIZED
    return Answer.of(200, **_body(p, "approved", "ok", decision.message,
                                  _available(customer_id) if available is None else available))


# -- confirm, cancel, purchase --------------------------------------------------------------------


def _locked(platform: Platform, transaction_id: str | None, authorization_id: int | None) -> PpvPurchase | None:
    # of=self: the hold is a nullable (outer) join, which PostgreSQL refuses to lock FOR UPDATE.
    qs = PpvPurchase.objects.select_for_update(of=("self",)).select_related("hold")
    if authorization_id is None and transaction_id is None:
        raise InvalidInput("give a transaction_id or an authorization_id", details={"field": "transaction_id"})
    if authorization_id is not None:
        if isinstance(authorization_id, bool) or not isinstance(authorization_id, int):
            raise InvalidInput("authorization_id must be an integer", details={"field": "authorization_id"})
        qs = qs.filter(pk=authorization_id)
    if transaction_id is not None:  # both given: both must match the same purchase
        qs = qs.filter(transaction_id=_ref(transaction_id, "transaction_id"))
    return qs.filter(platform=platform).first()  # another platform's purchase is simply not found


def _unknown(transaction_id, authorization_id) -> Answer:
    return Answer.of(404, result="error", code="unknown_authorization",
                     message="no such authorization for this platform", transaction_id=transaction_id,
                     authorization_id=authorization_id)


def _not_open(p: PpvPurchase) -> Answer:
    codes = {PurchaseStatus.DECLINED: ("authorization_declined", "the authorization was declined"),
             PurchaseStatus.CANCELLED: ("authorization_cancelled", "the authorization was cancelled"),
             PurchaseStatus.EXPIRED: ("authorization_expired", "the authorization expired before it was confirmed"),
             PurchaseStatus.CONFIRMED: ("already_confirmed", "the purchase was already confirmed"),
             PurchaseStatus.REFUNDED: ("already_confirmed", "the purchase was confirmed and has been refunded")}
    code, message = codes[p.status]
    return Answer.of(409, **_body(p, "error", code, message))


def _expire(p: PpvPurchase) -> None:
    if p.hold is not None:
        ledger.expire_hold(p.hold)
    p.status, p.finished_at = PurchaseStatus.EXPIRED, clock.now()
    p.save(update_fields=["status", "finished_at"])


@measured("confirm")
def confirm(platform: Platform, *, transaction_id: str | None = None, authorization_id: int | None = None,
            amount_minor: int | None = None) -> Answer:
    """Turn the held funds into a charge (the final amount may be lower than held, never higher)."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy is a thread-local lookup
    if (USE_DB_FUNCTIONS and settings.TRIPLEPLAY_PPV_DB_FUNCTIONS and db.vendor == "postgresql"
            and (transaction_id, authorization_id) != (None, None)
            and _bigint(authorization_id) and _bigint(amount_minor)):
        tx = _ref(transaction_id, "transaction_id") if transaction_id is not None else None
        answer = _charge_in_db(db, platform, tx, authorization_id, amount_minor)
        if answer is not None:
            return answer
    with transaction.atomic():
        p = _locked(platform, transaction_id, authorization_id)
        if p is None:
            return _unknown(transaction_id, authorization_id)
        stored = p.answers.get("confirm")
        if stored is not None:
            if amount_minor is not None and amount_minor != stored.get("amount_minor"):
                return Answer.of(409, result="error", code="transaction_id_reused",
                                 message="already confirmed for another amount", transaction_id=p.transaction_id,
                                 authorization_id=p.pk)
            return _replay(p, "confirm")
        if p.status == PurchaseStatus.AUTHORIZED and p.expires_at and p.expires_at <= clock.now():
            _expire(p)
        if p.status != PurchaseStatus.AUTHORIZED:
            return _not_open(p)
        amount = p.price_minor if amount_minor is None else amount_minor
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0 or amount > p.price_minor:
            return Answer.of(422, **_body(p, "error", "invalid_amount",
                                          f"the final amount must be 0..{p.price_minor} minor units"))
        entry = None
        if amount > 0:
            try:
                entry = ledger.capture_hold(Actor.platform(platform), p.hold, amount=Money(amount, p.currency),
                                            description=f"PPV: {p.title}"[:200], service_type=ServiceType.PPV,
                                            source="ppv", data={"platform": platform.code, "event": p.event_ref,
                                                                "content_owner": p.content_owner,
                                                                "transaction_id": p.transaction_id})
            except HoldExpired:
                _expire(p)
                return _not_open(p)
            except HoldNotActive:
                return _not_open(p)
        elif p.hold is not None:
            ledger.release_hold(Actor.platform(platform), p.hold, reason="confirmed at zero")
        now = clock.now()
        p.status, p.charge, p.charged_minor, p.finished_at = PurchaseStatus.CONFIRMED, entry, amount, now
        available = getattr(entry, "available_after_minor", None)  # from the capture's own UPDATE
        answer = Answer.of(200, **_body(p, "confirmed", "ok", "charged",
                                        _available(p.customer_id) if available is None else available))
        return _store(p, "confirm", answer, status=p.status, charge=entry, charged_minor=amount, finished_at=now)


@measured("cancel")
def cancel(platform: Platform, *, transaction_id: str | None = None, authorization_id: int | None = None) -> Answer:
    """Release the held funds (the purchase did not go through)."""
    with transaction.atomic():
        p = _locked(platform, transaction_id, authorization_id)
        if p is None:
            return _unknown(transaction_id, authorization_id)
        if p.answers.get("cancel") is not None:
            return _replay(p, "cancel")
        if p.status != PurchaseStatus.AUTHORIZED:
            return _not_open(p)
        if p.hold is not None:
            ledger.release_hold(Actor.platform(platform), p.hold, reason="cancelled by the platform")
        now = clock.now()
        p.status, p.finished_at = PurchaseStatus.CANCELLED, now
        answer = Answer.of(200, **_body(p, "cancelled", "ok", "funds released", _available(p.customer_id)))
        return _store(p, "cancel", answer, status=p.status, finished_at=now)


@measured("purchase")
def purchase(platform: Platform, *, transaction_id: str, subscriber: str, event_id: str | None = None,
             price_minor: int | None = None, currency: str | None = None) -> Answer:
    """Authorize and confirm in one call, for platforms that work that way."""
    # The unmeasured calls: a purchase counts once, as a purchase.
    answer = authorize.__wrapped__(platform, transaction_id=transaction_id, subscriber=subscriber, event_id=event_id,
                                   price_minor=price_minor, currency=currency)
    if answer.get("result") != "approved":
        return answer
    return confirm.__wrapped__(platform, transaction_id=transaction_id)


# -- background and operators ----------------------------------------------------------------------


def expire_authorizations(limit: int = 1000) -> int:
    """Release the holds of authorizations past their expiry (the worker's expire-holds job)."""
    due = list(PpvPurchase.objects.filter(status=PurchaseStatus.AUTHORIZED, expires_at__lte=clock.now())
               .values_list("pk", flat=True)[:limit])
    done = 0
    for pk in due:
        with transaction.atomic():
            p = PpvPurchase.objects.select_for_update(of=("self",)).select_related("hold").get(pk=pk)
            if p.status == PurchaseStatus.AUTHORIZED and p.expires_at <= clock.now():
                _expire(p)
                done += 1
    return done


def refund(actor: Actor, p: PpvPurchase, *, reason: str) -> PpvPurchase:
    """An operator gives a confirmed purchase's money back to the customer's balance (a credit)."""
    with transaction.atomic():
        p = PpvPurchase.objects.select_for_update().get(pk=p.pk)
        if p.status != PurchaseStatus.CONFIRMED:
            raise Conflict(f"only a confirmed purchase can be refunded; this one is {p.status}",
                           code="not_refundable")
        if not p.charged_minor:
            raise Conflict("nothing was charged for this purchase", code="not_refundable")
        entry = ledger.post_credit(actor, p.customer, Money(p.charged_minor, p.currency),
                                   reason=f"PPV refund: {p.title} ({reason})"[:200],
                                   idempotency_key=f"ppv-refund:{p.pk}", account=p.account)
        p.status, p.refund_entry = PurchaseStatus.REFUNDED, entry
        p.save(update_fields=["status", "refund_entry"])
        return p


def create_event(actor: Actor, platform: Platform, *, external_id: str, title: str, price_minor: int, currency: str,
                 starts_at: datetime | None = None, ends_at: datetime | None = None,
                 content_owner: str = "") -> PpvEvent:
    """An operator's own PPV event on a platform (the platform knows it by ``external_id``)."""
    from tripleplay.audit.services import record
    from tripleplay.core import validation as v

    external_id = _ref(external_id, "external_id")
    title = v.text(title, "title", required=True)
    price_minor = v.minor_amount(price_minor, "price_minor")
    currency = v.currency(currency)
    if starts_at and ends_at and ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at", details={"field": "ends_at"})
    if PpvEvent.objects.filter(platform=platform, external_id=external_id).exists():
        raise Conflict(f"platform {platform.code} already has an event {external_id!r}", code="duplicate")
    now = clock.now()
    with transaction.atomic():
        event = PpvEvent.objects.create(platform=platform, external_id=external_id, title=title,
                                        price_minor=price_minor, currency=currency, starts_at=starts_at,
                                        ends_at=ends_at, content_owner=v.text(content_owner, "content_owner"),
                                        origin="operator", first_seen_at=now, updated_at=now)
        record(actor, "ppv_event.created", event, platform=platform.code, external_id=external_id,
               price_minor=price_minor, currency=currency)
    return event


# -- the subscriber portal --------------------------------------------------------------------------

PORTAL_PREFIX = "portal:"


def buy_in_portal(actor: Actor, account: Account, event: PpvEvent, *, purchase_key: str) -> Answer:
    """A subscriber buys ``event`` for ``account`` in the portal: exactly a platform's ``purchase``
    (the same checks, hold and charge through the ledger, funds checked for prepaid), under the
    transaction id ``portal:<purchase_key>`` (the key the confirmation page handed out, so a repeated
    submit replays the first answer and charges once), and, in the same transaction, the grant that
    tells the platform to let the subscriber watch it (iptv.grants: the outbox). A declined purchase
    keeps its row, as a platform's does. D123."""
    from tripleplay.audit.services import record
    from tripleplay.iptv.grants import enqueue_grant, platform_grants

    if not isinstance(purchase_key, str) or not 8 <= len(purchase_key) <= 64 or not all(
            ch.isascii() and (ch.isalnum() or ch == "-") for ch in purchase_key):
        raise InvalidInput("purchase_key must be 8..64 letters, digits or '-'", details={"field": "purchase_key"})
    platform = event.platform
    if not platform_grants(platform):
        raise Conflict(f"{platform.name} cannot be told about purchases made here: buy this event on the TV",
                       code="platform_cannot_grant")
    sub = Subscriber.objects.filter(account=account, platform=platform, desired_exists=True).first()
    if sub is None:
        raise Conflict("this account is not on the event's platform", code="not_on_platform")
    transaction_id = f"{PORTAL_PREFIX}{purchase_key}"
    with transaction.atomic():
        answer = purchase.__wrapped__(platform, transaction_id=transaction_id, subscriber=sub.external_id,
                                      event_id=event.external_id)
        if answer.get("result") == "confirmed":
            grant, created = enqueue_grant(actor, account, event, purchase_ref=transaction_id)
            if created:
                p = PpvPurchase.objects.get(platform=platform, transaction_id=transaction_id)
                record(actor, "ppv.bought_in_portal", p, event=event.external_id, platform=platform.code,
                       price_minor=p.charged_minor, currency=p.currency, grant=grant.pk)
    return answer
