"""Usage rating: rate tables, xDR intake and rating, re-rating of errors (docs/rating.md).

Per xDR, in one transaction: store it (unique per source and external id: a duplicate is refused),
find the account and its subscriptions on the usage day, pick the rate (longest prefix), take free
units from the period's allowances (conditional UPDATE), price the rest (pricing.py, one rounding)
and post the charge to the ledger. Anything that prevents rating keeps the xDR with status "error"
and a reason; ``rerate_errors`` tries those again after a fix.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.catalog.models import Product
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, DomainError, InvalidInput
from tripleplay.customers.models import Account, AccountProduct
from tripleplay.ledger.services import post_charge
from tripleplay.money import Money, currency_exponent, rounding_mode
from tripleplay.rating import cascade, pricing
from tripleplay.rating.models import AllowanceUsage, Rate, RateTable, Xdr, XdrStatus
from tripleplay.subscriptions import periods, schedule

USAGE_SOURCE = "usage"


class Unratable(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class IngestResult:
    external_id: str
    status: str  # rated | error | duplicate | rejected (no usable external id: not stored)
    xdr_id: int | None = None
    cost_minor: int | None = None
    currency: str = ""
    error_code: str = ""
    error_reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


# -- rate tables ------------------------------------------------------------------------------------


def create_rate_table(actor: Actor, product: Product, *, service_type: str, name: str) -> RateTable:
    """A product's price list for one service, in the product's currency."""
    if service_type not in pricing.SERVICE_TYPES:
        raise InvalidInput(f"service_type must be one of {', '.join(pricing.SERVICE_TYPES)}",
                           details={"field": "service_type"})
    if service_type not in product.service_types:
        raise InvalidInput(f"product {product.code!r} has no {service_type} service", code="service_not_in_product",
                           details={"field": "service_type"})
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a name is required", details={"field": "name"})
    try:
        with transaction.atomic():
            table = RateTable.objects.create(product=product, service_type=service_type, currency=product.currency,
                                             name=name.strip()[:200], created_at=clock.now())
            record(actor, "rating.rate_table_created", table, product=product.code, service_type=service_type)
    except IntegrityError as e:
        raise Conflict(f"product {product.code!r} already has a {service_type} rate table", code="duplicate") from e
    return table


def set_rate(actor: Actor, table: RateTable, *, prefix: str = "", price_per_unit_micros: int,
             connection_fee_micros: int = 0, first_increment: int = 1, next_increment: int = 1,
             offpeak_price_per_unit_micros: int | None = None, offpeak_connection_fee_micros: int | None = None,
             next_price_per_unit_micros: int | None = None, offpeak_next_price_per_unit_micros: int | None = None,
             description: str = "") -> Rate:
    """Create or replace the rate of ``prefix`` (digits; "" is the table's default). The first
    interval (``first_increment`` units) costs ``price_per_unit_micros``, every next interval
    ``next_price_per_unit_micros`` (None: the same, a single price), per priced unit. The off-peak
    prices and fee (None: as peak) apply outside the table's peak window (``set_peak_window``)."""
    if not isinstance(prefix, str) or not (prefix == "" or prefix.isdigit()) or len(prefix) > 32:
        raise InvalidInput("prefix must be digits (or empty for the default rate)", details={"field": "prefix"})
    for field, value, minimum in (("price_per_unit_micros", price_per_unit_micros, 0),
                                  ("connection_fee_micros", connection_fee_micros, 0),
                                  ("first_increment", first_increment, 1), ("next_increment", next_increment, 1),
                                  ("offpeak_price_per_unit_micros", offpeak_price_per_unit_micros, 0),
                                  ("offpeak_connection_fee_micros", offpeak_connection_fee_micros, 0),
                                  ("next_price_per_unit_micros", next_price_per_unit_micros, 0),
                                  ("offpeak_next_price_per_unit_micros", offpeak_next_price_per_unit_micros, 0)):
        if value is None and (field.startswith("offpeak_") or field.startswith("next_")):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InvalidInput(f"{field} must be an integer >= {minimum}", details={"field": field})
    if table.service_type == pricing.MESSAGING and (first_increment, next_increment) != (1, 1):
        raise InvalidInput("messages are rated one by one: increments must be 1/1", details={"field": "first_increment"})
    with transaction.atomic():
        rate, _ = Rate.objects.update_or_create(table=table, prefix=prefix, defaults=dict(
            price_per_unit_micros=price_per_unit_micros, connection_fee_micros=connection_fee_micros,
            first_increment=first_increment, next_increment=next_increment,
            offpeak_price_per_unit_micros=offpeak_price_per_unit_micros,
            offpeak_connection_fee_micros=offpeak_connection_fee_micros,
            next_price_per_unit_micros=next_price_per_unit_micros,
            offpeak_next_price_per_unit_micros=offpeak_next_price_per_unit_micros, description=description[:200]))
        record(actor, "rating.rate_set", rate, table=table.pk, prefix=prefix, price_per_unit_micros=price_per_unit_micros,
               connection_fee_micros=connection_fee_micros, first_increment=first_increment,
               next_increment=next_increment, offpeak_price_per_unit_micros=offpeak_price_per_unit_micros,
               offpeak_connection_fee_micros=offpeak_connection_fee_micros,
               next_price_per_unit_micros=next_price_per_unit_micros,
               offpeak_next_price_per_unit_micros=offpeak_next_price_per_unit_micros)
    return rate


def set_peak_window(actor: Actor, table: RateTable, *, start: time | None, end: time | None,
                    weekdays: str = "12345", time_zone: str = "") -> RateTable:
    """Peak time of ``table``: ``weekdays`` (ISO digits, "12345" = Monday to Friday) from ``start`` to
    ``end`` (local time in ``time_zone``, "" = the installation's). ``start=None, end=None`` removes
    the window: every time is peak again. The start time of an xDR decides (docs/rating.md)."""
    if (start is None) != (end is None) or (start is not None and not (isinstance(start, time)
                                                                       and isinstance(end, time) and start < end)):
        raise InvalidInput("peak start and end must both be times with start < end (or both empty)",
                           details={"field": "peak_start"})
    if start is not None and (start.tzinfo is not None or end.tzinfo is not None):
        raise InvalidInput("peak start and end are local times, without a zone", details={"field": "peak_start"})
    if (not isinstance(weekdays, str) or not weekdays or any(c not in "1234567" for c in weekdays)
            or len(set(weekdays)) != len(weekdays)):
        raise InvalidInput("weekdays must be distinct ISO weekday digits 1..7 (1 = Monday)",
                           details={"field": "weekdays"})
    if not isinstance(time_zone, str) or (time_zone and time_zone not in available_timezones()):
        raise InvalidInput(f"unknown time zone {time_zone!r}", details={"field": "time_zone"})
    weekdays = "".join(sorted(weekdays))
    with transaction.atomic():
        RateTable.objects.filter(pk=table.pk).update(peak_start=start, peak_end=end, peak_weekdays=weekdays,
                                                     time_zone=time_zone)
        record(actor, "rating.peak_window_set", table, start=start.isoformat() if start else None,
               end=end.isoformat() if end else None, weekdays=weekdays, time_zone=time_zone)
    table.refresh_from_db()
    return table


def peak_window(table: RateTable) -> tuple[pricing.PeakWindow | None, ZoneInfo]:
    """The table's peak window and the time zone it is read in."""
    zone = ZoneInfo(table.time_zone or settings.TIME_ZONE)
    if table.peak_start is None:
        return None, zone
    return pricing.PeakWindow(frozenset(int(c) for c in table.peak_weekdays), table.peak_start, table.peak_end), zone


# -- intake -----------------------------------------------------------------------------------------


def ingest(actor: Actor, records: list[dict], *, source: str = "api", service_type: str | None = None
           ) -> list[IngestResult]:
    """Store and rate each record; one result per record, in order. ``service_type`` is the default
    for records without one. Nothing is dropped: a record that cannot be rated is stored as an error
    (only a record without a usable external id, which cannot be deduplicated, is rejected)."""
    if not isinstance(source, str) or not source.strip() or len(source) > 64:
        raise InvalidInput("source must be a non-empty name of at most 64 characters", details={"field": "source"})
    results = []
    for raw in records:
        results.append(_ingest_one(actor, raw, source, service_type))
    return results


def _ingest_one(actor: Actor, raw, source: str, default_service: str | None) -> IngestResult:
    if not isinstance(raw, dict):
        return IngestResult("", "rejected", error_code="invalid_record", error_reason="a record must be an object")
    ext = external_id(raw)
    if not ext or len(ext) > 100:
        return IngestResult(ext[:100], "rejected", error_code="invalid_field",
                            error_reason="id: a non-empty external id of at most 100 characters is required")
    raw = jsonable(raw)
    if not raw.get("service_type") and default_service:
        raw["service_type"] = default_service
    if Xdr.objects.filter(source=source, external_id=ext).exists():
        return IngestResult(ext, "duplicate", error_code="duplicate", error_reason="already received from this source")
    fields, problem = parse_record(raw)
    xdr = Xdr(source=source, external_id=ext, raw=raw, status=XdrStatus.ERROR, received_at=clock.now(), **fields)
    try:
        with transaction.atomic():
            xdr.save()
            _rate(actor, xdr, problem)
    except IntegrityError:  # a concurrent intake of the same record won the unique index
        return IngestResult(ext, "duplicate", error_code="duplicate", error_reason="already received from this source")
    return _result(xdr)


def external_id(raw: dict) -> str:
    """The record's external id (``id`` or ``external_id``) as text, "" if it has none usable."""
    ext = raw.get("id", raw.get("external_id"))
    return str(ext).strip() if isinstance(ext, str | int) and not isinstance(ext, bool) else ""


def rerate_errors(actor: Actor, *, source: str | None = None) -> dict[str, int]:
    """Rate again every xDR in error (after an account, a subscription or a rate was fixed), from the
    record as received. Returns counts of {"rated", "error"}."""
    qs = Xdr.objects.filter(status=XdrStatus.ERROR)
    if source:
        qs = qs.filter(source=source)
    counts = {"rated": 0, "error": 0}
    for pk in qs.order_by("id").values_list("id", flat=True).iterator():
        with transaction.atomic():
            xdr = Xdr.objects.select_for_update().filter(pk=pk, status=XdrStatus.ERROR).first()
            if xdr is None:  # rated meanwhile by a concurrent re-rate
                continue
            fields, problem = parse_record(xdr.raw)
            for name in _PARSED_FIELDS:
                setattr(xdr, name, fields.get(name, _PARSED_DEFAULTS.get(name)))
            _rate(actor, xdr, problem)
        counts[xdr.status] += 1
    return counts


def _result(xdr: Xdr) -> IngestResult:
    return IngestResult(xdr.external_id, xdr.status, xdr.pk, xdr.cost_minor, xdr.currency, xdr.error_code,
                        xdr.error_reason)


def jsonable(raw: dict) -> dict:
    """The record as received, as a JSON object (kept on an xDR in error, to be re-rated)."""
    out = {}
    for k, v in raw.items():
        if isinstance(v, datetime | date):
            v = v.isoformat()
        elif v is not None and not isinstance(v, str | int | float | bool):
            v = str(v)
        out[str(k)] = v
    json.dumps(out)
    return out


# -- parsing ----------------------------------------------------------------------------------------

_PARSED_FIELDS = ("service_type", "caller", "callee", "login", "bytes", "count", "destination", "started_at",
                  "duration_seconds")
_PARSED_DEFAULTS = {"service_type": "", "caller": "", "callee": "", "login": "", "destination": ""}


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


INT_MAX = 2**31 - 1  # durations and message counts (integer columns)
BIGINT_MAX = 2**63 - 1  # bytes


def _int(value, field: str, minimum: int, maximum: int = INT_MAX) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{field} must be an integer >= {minimum}")
    if value > maximum:
        raise ValueError(f"{field} must be at most {maximum}")
    return value


def _number(value, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    digits = text[1:] if text.startswith("+") else text
    if not digits.isdigit() or not 3 <= len(digits) <= 15:
        raise ValueError(f"{field} must be 3..15 digits, optionally with a leading +")
    return digits


def _time(value) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            value = None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError("started_at must be an ISO 8601 time with a time zone")
    return value


def _digits(value) -> str | None:
    if type(value) is not str:
        return None
    digits = value[1:] if value.startswith("+") else value
    return digits if digits.isdigit() and 3 <= len(digits) <= 15 else None


def _count(value, minimum: int, maximum: int = INT_MAX) -> int | None:
    if type(value) is str and value.isdigit():
        value = int(value)
    elif type(value) is not int:
        return None
    return value if minimum <= value <= maximum else None


def _parse_valid(raw: dict) -> dict | None:
    """The fields of a well-formed record (the common case, without the per-field bookkeeping), or
    None: then ``parse_record`` decides and names every problem. Same values as ``parse_record`` for any record it
    accepts (a test compares them)."""
    try:
        service = raw.get("service_type")
        at = raw.get("started_at")
        if type(at) is not str:
            return None
        started = datetime.fromisoformat(at.replace("Z", "+00:00"))
        if started.tzinfo is None:
            return None
        if service == pricing.VOICE:
            caller, callee = _digits(raw.get("caller")), _digits(raw.get("callee"))
            seconds = _count(raw.get("duration_seconds"), 0)
            if caller is None or callee is None or seconds is None:
                return None
            return {"service_type": service, "started_at": started, "caller": caller, "callee": callee,
                    "duration_seconds": seconds}
        if service == pricing.DATA:
            login, size = raw.get("login"), _count(raw.get("bytes"), 0, BIGINT_MAX)
            if type(login) is not str or not login or login != login.strip() or size is None:
                return None
            return {"service_type": service, "started_at": started, "login": login[:100], "bytes": size}
        if service == pricing.MESSAGING:
            caller, destination = _digits(raw.get("caller")), _digits(raw.get("destination"))
            count = raw.get("count")
            count = 1 if count is None or count == "" else _count(count, 1)
            if caller is None or destination is None or count is None:
                return None
            return {"service_type": service, "started_at": started, "caller": caller, "destination": destination,
                    "count": count}
    except (ValueError, TypeError, AttributeError):
        return None
    return None


def parse_record(raw: dict) -> tuple[dict, Unratable | None]:
    """The xDR's fields from the record, and the problem with it (every bad field named), if any."""
    fields = _parse_valid(raw)
    return (fields, None) if fields is not None else _parse_fields(raw)


def _parse_fields(raw: dict) -> tuple[dict, Unratable | None]:
    """``parse_record`` field by field, collecting every problem."""
    fields: dict = {}
    problems: list[str] = []
    service = raw.get("service_type")
    if service not in pricing.SERVICE_TYPES:
        return fields, Unratable("invalid_field", f"service_type must be one of {', '.join(pricing.SERVICE_TYPES)}")
    fields["service_type"] = service

    def take(name: str, parse, *args, default=None, required=True):
        value = raw.get(name)
        if _blank(value):
            if required:
                problems.append(f"{name} is required")
            elif default is not None:
                fields[name] = default
            return
        try:
            fields[name] = parse(value, *args)
        except ValueError as e:
            problems.append(str(e))

    take("started_at", _time)
    if service == pricing.VOICE:
        take("caller", _number, "caller")
        take("callee", _number, "callee")
        take("duration_seconds", _int, "duration_seconds", 0)
    elif service == pricing.DATA:
        take("login", lambda v: v.strip()[:100] if isinstance(v, str) else str(v))
        take("bytes", _int, "bytes", 0, BIGINT_MAX)
    else:
        take("caller", _number, "caller")
        take("destination", _number, "destination")
        take("count", _int, "count", 1, required=False, default=1)
    if problems:
        return fields, Unratable("invalid_field", "; ".join(problems))
    return fields, None


# -- rating -----------------------------------------------------------------------------------------


def _rate(actor: Actor, xdr: Xdr, problem: Unratable | None) -> None:
    """Rate ``xdr`` (already saved) and save it, rated or in error. Run inside a transaction."""
    try:
        if problem is not None:
            raise problem
        with transaction.atomic():  # allowance and ledger writes roll back together on a refusal
            _rate_effects(actor, xdr)
    except Unratable as e:
        _mark_error(xdr, e.code, e.reason)
    except DomainError as e:
        _mark_error(xdr, e.code, e.message)
    xdr.save()


def _mark_error(xdr: Xdr, code: str, reason: str) -> None:
    xdr.status, xdr.error_code, xdr.error_reason = XdrStatus.ERROR, code, reason[:300]
    xdr.rate, xdr.billed_quantity, xdr.allowance_used, xdr.offpeak = None, 0, 0, False
    xdr.cost_minor, xdr.currency, xdr.ledger_entry, xdr.rated_at = None, "", None, None


def _find_account(xdr: Xdr) -> Account:
    if xdr.service_type == pricing.DATA:
        account = Account.objects.select_related("customer").filter(login=xdr.login).first()
        if account is None:
            raise Unratable(*cascade.unknown_login(xdr.login))
    else:
        account = Account.objects.select_related("customer").filter(phone_number=xdr.caller).first()
        if account is None:
            raise Unratable(*cascade.unknown_phone_number(xdr.caller))
    return account


def _rate_effects(actor: Actor, xdr: Xdr) -> None:
    account = _find_account(xdr)
    xdr.account = account
    customer = account.customer
    refusal = cascade.status_refusal(account.status, customer.status)
    if refusal is not None:
        raise Unratable(*refusal)
    day = timezone.localdate(xdr.started_at)
    number = {pricing.VOICE: xdr.callee, pricing.MESSAGING: xdr.destination}.get(xdr.service_type, "")
    found = find_rate(account, customer.currency, xdr.service_type, number, xdr.started_at)
    assignments, table, choice = found.assignments, found.table, found.choice
    terms = choice.terms
    quantity = pricing.base_quantity(xdr.service_type, duration_seconds=xdr.duration_seconds or 0,
                                     bytes_=xdr.bytes or 0, count=xdr.count or 0)
    billed = pricing.billable(quantity, terms.first_increment, terms.next_increment)
    free = _consume_allowances(assignments, xdr.service_type, day, billed)
    cost = Money(pricing.usage_cost_minor(billed, free, terms, pricing.PRICED_UNIT[xdr.service_type],
                                          currency_exponent(table.currency), rounding_mode(None)), table.currency)
    xdr.rate_id, xdr.billed_quantity, xdr.allowance_used, xdr.offpeak = choice.rate_id, billed, free, choice.offpeak
    xdr.cost_minor, xdr.currency, xdr.rated_at = cost.minor, cost.currency, clock.now()
    xdr.status, xdr.error_code, xdr.error_reason = XdrStatus.RATED, "", ""
    xdr.ledger_entry = None
    if cost.minor > 0:
        # Usage that happened is billed whatever the funds: prepaid balances may go below zero.
        xdr.ledger_entry = post_charge(
            actor, customer, cost, description=_description(xdr, billed), idempotency_key=f"xdr:{xdr.pk}",
            account=account, service_type=xdr.service_type, source=USAGE_SOURCE, must_cover=False,
            data={"xdr": xdr.pk, "source": xdr.source, "external_id": xdr.external_id, "rate": choice.rate_id,
                  "prefix": choice.prefix, "offpeak": choice.offpeak, "billed": billed, "free": free,
                  "charged": billed - free,
                  "started_at": xdr.started_at.isoformat()})


@dataclass(frozen=True)
class FoundRate:
    """The subscriptions current on the usage day (in cascade order) and the rate that applies."""

    assignments: list[AccountProduct]
    table: RateTable
    choice: cascade.RateChoice


def find_rate(account: Account, customer_currency: str, service_type: str, number: str, at: datetime) -> FoundRate:
    """The rating cascade's lookups for usage of ``account`` starting ``at``: its subscriptions on that
    day, the first one's rate table for the service, the rate of the longest prefix of ``number``
    ("" for data) with its peak or off-peak terms. Raises Unratable with the reason. Per-record rating
    and real-time charging sessions (tripleplay/sessions) both price through it."""
    day = timezone.localdate(at)
    assignments = sorted((a for a in AccountProduct.objects.filter(account=account).select_related("plan", "product")
                          if cascade.is_current(a.start_date, a.end_date, day)),
                         key=lambda a: cascade.subscription_order(a.role, a.pk))
    if not assignments:
        raise Unratable(*cascade.no_subscription(day))
    tables = {t.product_id: t for t in RateTable.objects.filter(product_id__in=[a.product_id for a in assignments],
                                                                service_type=service_type)}
    table = next((tables[a.product_id] for a in assignments if a.product_id in tables), None)
    if table is None:
        raise Unratable(*cascade.no_rate_table(service_type))
    if table.currency != customer_currency:
        raise Unratable(*cascade.currency_mismatch(table.currency, customer_currency))
    window, zone = peak_window(table)
    prices = cascade.price_list(table.currency, table.name, window, zone,
                                map(cascade.RateRow._make, table.rates.values_list(*cascade.RATE_FIELDS)))
    choice = cascade.choose_rate(prices, number, at)
    if choice is None:
        raise Unratable(*cascade.no_rate(table.name, number))
    return FoundRate(assignments, table, choice)


def _description(xdr: Xdr, billed: int) -> str:
    if xdr.service_type == pricing.VOICE:
        return f"Call to {xdr.callee}, {billed} s billed"
    if xdr.service_type == pricing.DATA:
        return f"Data session, {billed} KB billed"
    return f"{billed} message(s) to {xdr.destination}"


def _consume_allowances(assignments: list[AccountProduct], service_type: str, day: date, need: int) -> int:
    """Take up to ``need`` base units from the allowances of the subscriptions current on ``day``, each in
    that subscription's period containing ``day``; returns how many were taken."""
    unit = pricing.ALLOWANCE_UNIT_OF[service_type]
    taken = 0
    cycle = _cycle_of(assignments)
    for a in assignments:
        for allowance in a.plan.allowances.filter(service_type=service_type, unit=unit).order_by("id"):
            if taken >= need:
                return taken
            p = _allowance_period(a, cycle, day, allowance.quantity * pricing.ALLOWANCE_UNIT[unit])
            usage = _usage_row(a, allowance, p.index, p.first, p.end, p.granted)
            taken += _take(usage.pk, need - taken)
    return taken


def _cycle_of(assignments: list[AccountProduct]) -> tuple[str, int]:
    """The customer's billing period and bill-cycle day, read (one query) only when a plan of
    ``assignments`` is aligned to it: an anniversary plan's periods do not depend on it."""
    aligned = next((a for a in assignments if a.plan.alignment == schedule.BILLING_PERIOD), None)
    if aligned is None:
        return periods.MONTHLY, 1
    return Account.objects.filter(pk=aligned.account_id).values_list("customer__billing_period",
                                                                     "customer__bill_cycle_day").get()


def _allowance_period(a: AccountProduct, cycle: tuple[str, int], day: date, quantity: int) -> schedule.AllowancePeriod:
    """The period of ``a`` holding ``day`` on its fee's grid, and what its allowance grants (D222)."""
    terms = schedule.Terms.of_grid(a.plan.period, a.plan.alignment, a.plan.prorate_first_period, *cycle)
    return schedule.allowance_period(terms, a.start_date, day, quantity)


def _usage_row(assignment, allowance, n: int, first: date, end: date, granted: int) -> AllowanceUsage:
    key = dict(assignment=assignment, allowance=allowance, period_index=n)
    usage = AllowanceUsage.objects.filter(**key).first()
    if usage is not None:
        return usage
    try:
        with transaction.atomic():
            return AllowanceUsage.objects.create(period_start=first, period_end=end, granted=granted, **key)
    except IntegrityError:  # created concurrently
        return AllowanceUsage.objects.get(**key)


def _take(usage_pk: int, want: int) -> int:
    """Compare-and-set on ``used``: two ratings can never both take the last free units (the loser's
    UPDATE matches nothing and it reads again)."""
    while True:
        row = AllowanceUsage.objects.values("granted", "used").get(pk=usage_pk)
        n = min(want, row["granted"] - row["used"])
        if n <= 0:
            return 0
        if AllowanceUsage.objects.filter(pk=usage_pk, used=row["used"]).update(used=F("used") + n) == 1:
            return n


def allowance_left(assignments: list[AccountProduct], service_type: str, day: date) -> int:
    """Base units still free on ``day`` in the allowances of ``assignments`` (a read: nothing is
    taken; ``consume_allowances`` takes them when the usage is charged)."""
    unit = pricing.ALLOWANCE_UNIT_OF[service_type]
    left = 0
    cycle = _cycle_of(assignments)
    for a in assignments:
        for allowance in a.plan.allowances.filter(service_type=service_type, unit=unit):
            p = _allowance_period(a, cycle, day, allowance.quantity * pricing.ALLOWANCE_UNIT[unit])
            usage = (AllowanceUsage.objects.filter(assignment=a, allowance=allowance, period_index=p.index)
                     .values_list("granted", "used").first())
            granted, used = usage if usage is not None else (p.granted, 0)
            left += max(granted - used, 0)
    return left


def consume_allowances(assignments: list[AccountProduct], service_type: str, day: date, need: int) -> int:
    """Take up to ``need`` base units from the allowances (as per-record rating does); returns how
    many were taken. Run inside the caller's transaction."""
    return _consume_allowances(assignments, service_type, day, need)


def store_rated(actor: Actor, *, source: str, external_id: str, account: Account, service_type: str,
                started_at: datetime, rate_id: int, offpeak: bool, billed: int, free: int, cost: Money,
                entry, raw: dict, caller: str = "", callee: str = "", login: str = "",
                duration_seconds: int | None = None, bytes_: int | None = None) -> Xdr:
    """Store an xDR that was priced and charged elsewhere (a charging session's charged interval:
    the money moved with its capture, ``entry``), so that it is listed with rated usage. Unique per
    (source, external id) like every xDR: the caller's own lock and numbering make it new."""
    now = clock.now()
    return Xdr.objects.create(
        source=source, external_id=external_id, service_type=service_type, account=account, caller=caller,
        callee=callee, login=login, destination=callee, bytes=bytes_, duration_seconds=duration_seconds,
        started_at=started_at, raw=raw, status=XdrStatus.RATED, rate_id=rate_id, billed_quantity=billed,
        allowance_used=free, offpeak=offpeak, cost_minor=cost.minor, currency=cost.currency, ledger_entry=entry,
        received_at=now, rated_at=now)


# The names test_bulk.py imports.
_parse, _jsonable = parse_record, jsonable
