"""The rating cascade, written once: why a record cannot be rated, which rate of a rate table applies
to a destination at a moment (longest prefix, then peak or off-peak), and what its usage costs
(increments and the one rounding are pricing.py's maths). Pure functions, no database, no clock.

Both rating paths call these: the per-record path (services._rate_effects) and the bulk path
(bulk.lookups, bulk.usage). The bulk path builds a ``PriceList`` once per rate table and chunk
instead of once per record; the decisions are the same calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import NamedTuple

from tripleplay.customers.models import Status
from tripleplay.rating import pricing


class Refusal(NamedTuple):
    """Why a record is kept in error, as the xDR row and the answer say it."""

    code: str
    reason: str


_BLOCKED, _CLOSED = Status.BLOCKED.value, Status.CLOSED.value
ACCOUNT_BLOCKED = Refusal("account_blocked", "the account or its customer is blocked: usage is refused")
ACCOUNT_CLOSED = Refusal("account_closed", "the account or its customer is closed")


def status_refusal(account_status: str, customer_status: str) -> Refusal | None:
    """Usage of a blocked or closed account (or customer) is not rated; a suspended one's is."""
    if account_status == _BLOCKED or customer_status == _BLOCKED:
        return ACCOUNT_BLOCKED
    if account_status == _CLOSED or customer_status == _CLOSED:
        return ACCOUNT_CLOSED
    return None


def unknown_login(login: str) -> Refusal:
    return Refusal("unknown_account", f"no account with login {login!r}")


def unknown_phone_number(number: str) -> Refusal:
    return Refusal("unknown_account", f"no account with phone number {number}")


def no_subscription(day: date) -> Refusal:
    return Refusal("no_subscription", f"the account has no subscription on {day.isoformat()}")


def no_rate_table(service_type: str) -> Refusal:
    return Refusal("no_rate", f"no {service_type} rate table for the account's products")


def currency_mismatch(table_currency: str, customer_currency: str) -> Refusal:
    return Refusal("currency_mismatch", f"rate table in {table_currency}, customer billed in {customer_currency}")


def no_rate(table_name: str, number: str) -> Refusal:
    return Refusal("no_rate", f"no rate in {table_name!r} for destination {number or '(none)'}")


# -- which subscriptions, which rate table -------------------------------------------------------------


def is_current(start_date: date, end_date: date | None, day: date) -> bool:
    """A subscription counts for usage from its start day up to the day before its end day."""
    return start_date <= day and (end_date is None or end_date > day)


def subscription_order(role: str, assignment_id: int) -> tuple[bool, int]:
    """The order subscriptions are consulted in, for the rate table and for allowances: the main product
    first, then add-ons in the order they were assigned. The first with a table for the service rates it."""
    return role != "main", assignment_id


# -- which rate, at what terms -------------------------------------------------------------------------


class RateRow(NamedTuple):
    """A rate as stored (``RATE_FIELDS`` of rating.models.Rate, in this order)."""

    rate_id: int
    prefix: str
    price_per_unit_micros: int
    connection_fee_micros: int
    first_increment: int
    next_increment: int
    offpeak_price_per_unit_micros: int | None
    offpeak_connection_fee_micros: int | None
    next_price_per_unit_micros: int | None = None  # None: a single price
    offpeak_next_price_per_unit_micros: int | None = None


RATE_FIELDS = ("id", "prefix", "price_per_unit_micros", "connection_fee_micros", "first_increment", "next_increment",
               "offpeak_price_per_unit_micros", "offpeak_connection_fee_micros", "next_price_per_unit_micros",
               "offpeak_next_price_per_unit_micros")


class RateChoice(NamedTuple):
    """The rate that applies and the terms it applies with."""

    rate_id: int
    prefix: str
    terms: pricing.RateTerms
    offpeak: bool


class IndexedRate(NamedTuple):
    peak: RateChoice
    offpeak: RateChoice | None  # None: the rate costs the same at any time


@dataclass(eq=False)
class PriceList:
    """A rate table ready for the longest-prefix search: its rates by prefix and the prefix lengths
    present, longest first (one dict probe per length), with its peak window and time zone."""

    currency: str
    name: str
    window: pricing.PeakWindow | None
    zone: tzinfo
    rates: dict[str, IndexedRate]
    lengths: tuple[int, ...]


def price_list(currency: str, name: str, window: pricing.PeakWindow | None, zone: tzinfo,
               rates: Iterable[RateRow]) -> PriceList:
    indexed = {}
    for r in rates:
        peak = pricing.RateTerms(r.price_per_unit_micros, r.connection_fee_micros, r.first_increment,
                                 r.next_increment, r.next_price_per_unit_micros)
        offpeak, is_offpeak = pricing.terms_at(peak, r.offpeak_price_per_unit_micros,
                                               r.offpeak_connection_fee_micros, False,
                                               r.offpeak_next_price_per_unit_micros)
        indexed[r.prefix] = IndexedRate(RateChoice(r.rate_id, r.prefix, peak, False),
                                        RateChoice(r.rate_id, r.prefix, offpeak, True) if is_offpeak else None)
    return PriceList(currency, name, window, zone, indexed, tuple(sorted({len(p) for p in indexed}, reverse=True)))


def choose_rate(prices: PriceList, number: str, started: datetime) -> RateChoice | None:
    """The rate of the longest prefix ``number`` starts with ("" matches everything), with its
    off-peak terms when ``started`` (any aware time) is outside the peak window in the table's zone:
    the start alone decides. None: no rate applies."""
    rates = prices.rates
    for length in prices.lengths:
        if length <= len(number):
            rate = rates.get(number[:length])
            if rate is not None:
                break
    else:
        return None
    if rate.offpeak is None:
        return rate.peak
    zone = prices.zone
    if pricing.is_peak(started if started.tzinfo is zone else started.astimezone(zone), prices.window):
        return rate.peak
    return rate.offpeak
