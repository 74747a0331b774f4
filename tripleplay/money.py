"""Money: integer minor units plus an ISO 4217 currency. The one place where rounding happens.

Rules (docs/money.md):
- An amount is an ``int`` of the currency's minor units (cents for USD, none for JPY, mills for
  KWD); the number of decimals comes from Babel's CLDR data.
- Arithmetic is exact: +, - and * by an integer never round. Amounts of different currencies never
  mix: that is a ``CurrencyMismatch``, not a conversion.
- Rounding happens only when a ``Decimal`` (a prorated fee, a tax, a rated call priced in
  micro-units) becomes Money, through ``Money.from_decimal`` or ``Money.from_micros``, with the
  configured mode (settings.TRIPLEPLAY_ROUNDING, half-up by default) or an explicit one.
- Sub-minor precision (rates such as 0.0125 per minute) is carried as integer micro-units: millionths
  of the currency's major unit (``MICROS_PER_UNIT``), and rounded to minor units once, per priced
  item, with ``Money.from_micros``.
- Floats are refused everywhere: ``Money(1.5, "USD")`` raises ``TypeError``.
"""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from babel.numbers import format_currency, get_currency_precision, list_currencies

MICROS_PER_UNIT = 1_000_000

ROUNDING_MODES = {
    name: getattr(decimal, name)
    for name in (
        "ROUND_HALF_UP",
        "ROUND_HALF_EVEN",
        "ROUND_HALF_DOWN",
        "ROUND_UP",
        "ROUND_DOWN",
        "ROUND_CEILING",
        "ROUND_FLOOR",
    )
}

_DECIMAL_TEXT = re.compile(r"^[+-]?\d+(\.\d+)?$")


class CurrencyError(ValueError):
    """An unknown ISO 4217 code."""


class CurrencyMismatch(ValueError):
    """Two amounts of different currencies were combined."""


class AmountFormatError(ValueError):
    """A textual amount is malformed or has more decimals than its currency allows."""


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


# ISO 4217 codes that are not money (D69): no currency (XXX), the testing code (XTS), precious metals
# (gold, silver, platinum, palladium), bond-market units (XBA-XBD), the IMF's special drawing right
# (XDR), the SUCRE (XSU), the ADB unit of account (XUA), the old ECU (XEU), the gold and UIC francs
# (XFO, XFU) and the RINET fund unit (XRE). Babel lists them; no customer pays in them.
NOT_MONEY = frozenset({"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA",
                       "XEU", "XFO", "XFU", "XRE"})


def list_money_currencies() -> list[str]:
    """Every code ``validate_currency`` accepts, sorted."""
    return sorted(_known_currencies() - NOT_MONEY)


def validate_currency(code: str) -> str:
    if not isinstance(code, str) or code not in _known_currencies():
        raise CurrencyError(f"unknown currency {code!r}: expected an ISO 4217 code such as 'USD'")
    if code in NOT_MONEY:
        raise CurrencyError(f"{code!r} is an ISO 4217 code but not money: expected a currency such as 'USD'")
    return code


@cache
def currency_exponent(code: str) -> int:
    """Number of minor-unit decimals of a currency (USD 2, JPY 0, KWD 3), from Babel's CLDR data."""
    return get_currency_precision(validate_currency(code))


def rounding_mode(name: str | None = None) -> str:
    if name is None:
        from django.conf import settings

        name = getattr(settings, "TRIPLEPLAY_ROUNDING", "ROUND_HALF_UP")
    try:
        return ROUNDING_MODES[name]
    except KeyError:
        raise ValueError(f"unknown rounding mode {name!r}; one of {sorted(ROUNDING_MODES)}") from None


def _require_int(value, what: str) -> int:
    # bool is an int subclass; True cents is a bug, not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int of minor units, not {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self):
        _require_int(self.minor, "Money.minor")
        validate_currency(self.currency)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, amount: Decimal, currency: str, rounding: str | None = None) -> Money:
        """Round a major-unit Decimal to minor units with the configured (or given) mode."""
        if not isinstance(amount, Decimal):
            raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
        if not amount.is_finite():
            raise AmountFormatError("amount must be a finite number")
        exp = currency_exponent(currency)
        minor = (amount.scaleb(exp)).quantize(Decimal(1), rounding=rounding_mode(rounding))
        return cls(int(minor), currency)

    @classmethod
    def from_micros(cls, micros: int, currency: str, rounding: str | None = None) -> Money:
        """Round an amount in micro-units (1e-6 of the major unit) to minor units."""
        _require_int(micros, "micros")
        return cls.from_decimal(Decimal(micros).scaleb(-6), currency, rounding)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse '12.50' exactly. More decimals than the currency has is an error, never a rounding."""
        if not isinstance(text, str) or not _DECIMAL_TEXT.match(text.strip()):
            raise AmountFormatError(f"{text!r} is not a decimal amount such as '12.50'")
        value = Decimal(text.strip())
        exp = currency_exponent(currency)
        scaled = value.scaleb(exp)
        if scaled != scaled.to_integral_value():
            raise AmountFormatError(f"{text!r} has more than {exp} decimals, the precision of {currency}")
        return cls(int(scaled), currency)

    # -- views ----------------------------------------------------------------------------------
    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-self.exponent)

    def to_micros(self) -> int:
        return self.minor * 10 ** (6 - self.exponent)

    def amount_text(self) -> str:
        """'12.50', '-0.05', '100' (JPY): exact, machine-readable, always the currency's decimals."""
        exp = self.exponent
        if exp == 0:
            return str(self.minor)
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exp)
        return f"{sign}{whole}.{frac:0{exp}d}"

    def format(self, locale: str = "en_US") -> str:
        """Human formatting ('$1,234.50') for screens and documents."""
        return format_currency(self.to_decimal(), self.currency, locale=locale)

    def __str__(self) -> str:
        return f"{self.amount_text()} {self.currency}"

    # -- arithmetic (exact) ---------------------------------------------------------------------
    def _same(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} cannot be combined")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.minor * _require_int(factor, "factor"), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other).minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def is_negative(self) -> bool:
        return self.minor < 0

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split exactly by integer ratios; leftover minor units go to the first shares with a
        non-zero ratio, one each (no loss; a zero ratio always gets zero)."""
        if not ratios or any(_require_int(r, "ratio") < 0 for r in ratios) or sum(ratios) == 0:
            raise ValueError("ratios must be non-negative ints with a positive sum")
        total = sum(ratios)
        shares = [self.minor * r // total for r in ratios]
        remainder = self.minor - sum(shares)  # 0 <= remainder < number of non-zero ratios
        receivers = [i for i, r in enumerate(ratios) if r > 0]
        for i in range(remainder):
            shares[receivers[i]] += 1
        return [Money(s, self.currency) for s in shares]


def prorate(amount: Money, numerator: int, denominator: int, rounding: str | None = None) -> Money:
    """amount * numerator / denominator, rounded once (used by proration: days used / days in period)."""
    _require_int(numerator, "numerator")
    _require_int(denominator, "denominator")
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    exact = Decimal(amount.minor) * numerator / denominator
    return Money(int(exact.quantize(Decimal(1), rounding=rounding_mode(rounding))), amount.currency)
