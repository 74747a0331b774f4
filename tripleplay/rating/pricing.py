"""Usage-rating maths: pure functions, no database, no clock (docs/rating.md).

Quantities are integers in each service's *base unit*: seconds (voice), kilobytes of 1,000 bytes
(data), messages (messaging). Prices are integer micro-units (``tripleplay.money.MICROS_PER_UNIT``)
per *priced unit*: a minute (60 s), a megabyte (1,000 KB), a message. A cost is kept as an exact
``Fraction`` of micro-units until ``to_money`` rounds it, once, to minor units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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
    price_per_unit_micros: int
    connection_fee_micros: int = 0
    first_increment: int = 1
    next_increment: int = 1


@dataclass(frozen=True)
class Priced:
    billed: int  # base units after increments
    free: int  # of which taken from allowances
    charged: int  # billed - free
    cost_micros: Fraction  # exact: connection fee + charged x price / priced unit


def longest_prefix(number: str, prefixes: Iterable[str]) -> str | None:
    """The longest of ``prefixes`` that ``number`` starts with ("" matches everything), or None."""
    best = None
    for p in prefixes:
        if number.startswith(p) and (best is None or len(p) > len(best)):
            best = p
    return best


def base_quantity(service_type: str, *, duration_seconds: int = 0, bytes_: int = 0, count: int = 0) -> int:
    """The xDR's usage in base units: seconds, kilobytes (partial KB counts as one), messages."""
    if service_type == VOICE:
        return duration_seconds
    if service_type == DATA:
        return -(-bytes_ // BYTES_PER_KB)
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
    charged = billed - free
    cost = terms.connection_fee_micros + Fraction(charged * terms.price_per_unit_micros, priced_unit)
    return Priced(billed, free, charged, cost)


def to_money(cost_micros: Fraction, currency: str, rounding: str | None = None) -> Money:
    """The one rounding of an xDR: exact micro-units to minor units (half-up by default)."""
    if cost_micros.denominator == 1:
        return Money.from_micros(int(cost_micros), currency, rounding)
    with localcontext() as ctx:
        # Exact enough: a non-tie value is at least 1/denominator micro away from a tie, far above 1e-40.
        ctx.prec = 60
        major = Decimal(cost_micros.numerator) / Decimal(cost_micros.denominator) / MICROS_PER_UNIT
        return Money.from_decimal(major, currency, rounding)
