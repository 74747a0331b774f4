"""Usage-rating maths: pure functions, no database, no clock (docs/rating.md).

Quantities are integers in each service's *base unit*: seconds (voice), kilobytes of 1,000 bytes
(data), messages (messaging). Prices are integer micro-units (``tripleplay.money.MICROS_PER_UNIT``)
per *priced unit*: a minute (60 s), a megabyte (1,000 KB), a message. A cost is kept as an exact
``Fraction`` of micro-units until ``to_money`` rounds it, once, to minor units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal, localcontext
from fractions import Fraction

from tripleplay.money import MICROS_PER_UNIT, Money

VOICE, DATA, MESSAGING = "voice", "data", "messaging"
SERVICE_TYPES = (VOICE, DATA, MESSAGING)

BYTES_PER_KB = 1000
# Base units per priced unit: the price is per minute, per MB, per message.
PRICED_UNIT = {VOICE: 60, DATA: 1000, MESSAGING: 1}
# Base units per allowance unit (catalog.AllowanceUnit): minutes, megabytes, messages.
ALLOWANCE_UNIT = {"minutes": 60, "megabytes": 1000, "messages": 1}
# Which allowance unit counts for which service.
ALLOWANCE_UNIT_OF = {VOICE: "minutes", DATA: "megabytes", MESSAGING: "messages"}


@dataclass(frozen=True)
class RateTerms:
    """A rate's terms. The first interval (``first_increment`` base units) is priced at
    ``price_per_unit_micros``, every next interval (``next_increment`` units) at
    ``next_price_per_unit_micros``, None meaning the same price (a single-price rate); both per priced
    unit (PortaBilling's first/next interval prices, CGRateS' rating slots). The connection fee is
    added once per non-zero xDR."""

    price_per_unit_micros: int
    connection_fee_micros: int = 0
    first_increment: int = 1
    next_increment: int = 1
    next_price_per_unit_micros: int | None = None

    @property
    def next_price(self) -> int:
        return self.price_per_unit_micros if self.next_price_per_unit_micros is None else self.next_price_per_unit_micros


@dataclass(frozen=True)
class PeakWindow:
    """Peak time: ``weekdays`` (ISO, 1 = Monday) from ``start`` (inclusive) to ``end`` (exclusive),
    local time of the rate table. Every other moment is off-peak."""

    weekdays: frozenset[int]
    start: time
    end: time


def is_peak(local_start: datetime, window: PeakWindow | None) -> bool:
    """Whether an xDR that starts at ``local_start`` (already in the table's time zone) is peak time.
    The start time alone decides: a call that crosses the boundary keeps the price it started with.
    Without a window every moment is peak (the rate's normal terms)."""
    if window is None:
        return True
    return local_start.isoweekday() in window.weekdays and window.start <= local_start.time() < window.end


def terms_at(peak: RateTerms, offpeak_price: int | None, offpeak_fee: int | None, is_peak_time: bool,
             offpeak_next_price: int | None = None) -> tuple[RateTerms, bool]:
    """The terms that apply, and whether they are the off-peak ones. A rate without any off-peak term
    costs the same at any time; each missing off-peak term is the peak one (a missing off-peak next
    price is the peak's next price, which on a single-price rate means "as the first price", here the
    off-peak one). The intervals are the peak ones."""
    if is_peak_time or (offpeak_price is None and offpeak_fee is None and offpeak_next_price is None):
        return peak, False
    return RateTerms(peak.price_per_unit_micros if offpeak_price is None else offpeak_price,
                     peak.connection_fee_micros if offpeak_fee is None else offpeak_fee,
                     peak.first_increment, peak.next_increment,
                     peak.next_price_per_unit_micros if offpeak_next_price is None else offpeak_next_price), True


@dataclass(frozen=True)
class Priced:
    billed: int  # base units after increments
    free: int  # of which taken from allowances
    charged: int  # billed - free
    cost_micros: Fraction  # exact: connection fee + charged units x their interval's price / priced unit


@dataclass(frozen=True)
class Charged:
    """The charged units of an xDR split by interval price: those of the first interval, the rest."""

    first: int
    next: int


def split_charged(billed: int, free: int, first_increment: int) -> Charged:
    """Which billed units are charged at the first interval's price and which at the next one's.
    Free units (allowances) cover the start of the usage, so they use up the first interval first:
    120 s billed at 60/60 with 30 free -> 30 first + 60 next; with 90 free -> 0 + 30."""
    first_billed = min(billed, first_increment)
    return Charged(max(0, first_billed - free), (billed - first_billed) - max(0, free - first_billed))


def longest_prefix(number: str, prefixes: Iterable[str]) -> str | None:
    """The longest of ``prefixes`` that ``number`` starts with ("" matches everything), or None."""
    best = None
    for p in prefixes:
        if number.startswith(p) and (best is None or len(p) > len(best)):
            best = p
    return best


def kilobytes(bytes_: int) -> int:
    """A data session's base units: a partial kilobyte counts as one."""
    return -(-bytes_ // BYTES_PER_KB)


def base_quantity(service_type: str, *, duration_seconds: int = 0, bytes_: int = 0, count: int = 0) -> int:
    """The xDR's usage in base units: seconds, kilobytes (partial KB counts as one), messages."""
    if service_type == VOICE:
        return duration_seconds
    if service_type == DATA:
        return kilobytes(bytes_)
    if service_type == MESSAGING:
        return count
    raise ValueError(f"unknown service type {service_type!r}")


def billable(quantity: int, first_increment: int, next_increment: int) -> int:
    """Round ``quantity`` up to the increments: the first block of ``first_increment``, then blocks of
    ``next_increment`` (61 s at 60/60 -> 120, at 30/6 -> 66, at 1/1 -> 61). Zero stays zero."""
    if first_increment < 1 or next_increment < 1:
        raise ValueError("increments must be at least 1")
    if quantity <= 0:
        return 0
    if quantity <= first_increment:
        return first_increment
    rest = quantity - first_increment
    return first_increment + -(-rest // next_increment) * next_increment


def price(quantity: int, terms: RateTerms, priced_unit: int, free_available: int = 0) -> Priced:
    """Price one xDR: increments on the whole usage, then free units first (they may end mid-call),
    then the rest at the rate. The connection fee is charged on every non-zero xDR (allowances cover
    units, not the fee); a zero-length xDR costs nothing."""
    billed = billable(quantity, terms.first_increment, terms.next_increment)
    if billed == 0:
        return Priced(0, 0, 0, Fraction(0))
    free = max(0, min(billed, free_available))
    charged = split_charged(billed, free, terms.first_increment)
    cost = terms.connection_fee_micros + Fraction(
        charged.first * terms.price_per_unit_micros + charged.next * terms.next_price, priced_unit)
    return Priced(billed, free, billed - free, cost)


def to_money(cost_micros: Fraction, currency: str, rounding: str | None = None) -> Money:
    """The one rounding of an xDR: exact micro-units to minor units (half-up by default)."""
    if cost_micros.denominator == 1:
        return Money.from_micros(int(cost_micros), currency, rounding)
    with localcontext() as ctx:
        # Exact enough: a non-tie value is at least 1/denominator micro away from a tie, far above 1e-40.
        ctx.prec = 60
        major = Decimal(cost_micros.numerator) / Decimal(cost_micros.denominator) / MICROS_PER_UNIT
        return Money.from_decimal(major, currency, rounding)


def round_ratio(numerator: int, denominator: int, rounding: str) -> int:
    """``numerator / denominator`` (both >= 0, denominator > 0) rounded to an integer with a
    ``decimal.ROUND_*`` mode, in integers only: ``to_money`` for the non-negative amounts rating
    produces, without Decimal (both paths price through ``usage_cost_minor``; a test checks it agrees
    with ``to_money``)."""
    q, r = divmod(numerator, denominator)
    if r == 0 or rounding in ("ROUND_DOWN", "ROUND_FLOOR"):
        return q
    if rounding in ("ROUND_UP", "ROUND_CEILING"):
        return q + 1
    twice = 2 * r
    if twice > denominator:
        return q + 1
    if twice < denominator:
        return q
    if rounding == "ROUND_HALF_UP":
        return q + 1
    if rounding == "ROUND_HALF_EVEN":
        return q + (q & 1)
    if rounding == "ROUND_HALF_DOWN":
        return q
    raise ValueError(f"unknown rounding mode {rounding!r}")


def cost_minor(charged: Charged, terms: RateTerms, priced_unit: int, exponent: int, rounding: str) -> int:
    """The cost of a non-zero xDR in minor units, in integers: connection fee + the charged units at
    their interval's price / priced unit, exact, then the one rounding (the same value as
    ``to_money(price(...).cost_micros)``)."""
    units = charged.first * terms.price_per_unit_micros + charged.next * terms.next_price
    numerator = (terms.connection_fee_micros * priced_unit + units) * 10 ** exponent
    return round_ratio(numerator, priced_unit * MICROS_PER_UNIT, rounding)


def usage_cost_minor(billed: int, free: int, terms: RateTerms, priced_unit: int, exponent: int, rounding: str) -> int:
    """What an xDR costs in minor units, both rating paths: nothing for a zero-length one (not even the
    connection fee); else the fee plus the ``billed - free`` units at their interval's price (the
    first interval's units at the first price, the rest at the next price), rounded once."""
    if billed == 0:
        return 0
    return cost_minor(split_charged(billed, free, terms.first_increment), terms, priced_unit, exponent, rounding)
