"""Tax on invoice lines: pure functions.

Rule (docs/invoicing.md): each taxable line's tax is the line's amount times the customer's rate,
rounded to the currency's minor unit on that line with the invoice's rounding mode (the
installation's TRIPLEPLAY_ROUNDING, recorded on the invoice); the invoice's tax is the sum of the
lines' taxes. A credit's tax is negative and rounded symmetrically (half-up rounds away from zero).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from tripleplay.money import Money


@lru_cache(maxsize=65536)  # pure; a run taxes the same fees for many customers
def line_tax(amount_minor: int, rate_percent: Decimal, currency: str, rounding: str) -> int:
    """Tax in minor units on a line of ``amount_minor`` at ``rate_percent`` (20 = 20 %)."""
    if not rate_percent or not amount_minor:
        return 0
    base = Money(amount_minor, currency).to_decimal()
    return Money.from_decimal(base * Decimal(rate_percent) / Decimal(100), currency, rounding).minor
