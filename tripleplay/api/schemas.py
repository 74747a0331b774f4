"""Shapes shared by every part of the API.

Conventions:
- Request bodies reject unknown fields (a typo fails with 422 instead of being ignored).
- An input amount is ``*_minor``: a JSON integer of the currency's minor units (1250 = 12.50 USD).
  12.5, "1250", 1e3 and true are refused. The currency is always the customer's (or the product's).
- An output amount is a money object: {"amount_minor": 1250, "amount": "12.50", "currency": "USD"},
  named without the suffix (balance, amount, periodic_fee ...).
- Dates are "YYYY-MM-DD"; times are ISO 8601 with an offset; rates (tax_rate) are decimal strings.
- Integers are bounded before they reach a database (D69): ids 1..2^63-1 (the 64-bit key columns),
  amounts within MAX_MINOR, offsets 0..2^31-1, limits 1..NINJA_PAGINATION_MAX_LIMIT; anything outside
  is a 422 in the usual error shape, never a database overflow.
- Text refuses what the databases cannot store (D69): NUL (PostgreSQL text cannot hold it) and lone
  surrogates (not encodable as UTF-8, on SQLite or PostgreSQL).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema
from pydantic import BeforeValidator, ConfigDict, StrictInt, StrictStr

from tripleplay.core.validation import STORABLE_TEXT_PATTERN
from tripleplay.money import Money

# Bigger than any real amount, far below the 64-bit columns: sums of many of them cannot overflow.
MAX_MINOR = 10**15
# Every primary key is a BigAutoField: a signed 64-bit column on PostgreSQL and SQLite alike.
MAX_ID = 2**63 - 1
# No one pages past two billion rows; a bound far below PostgreSQL's bigint OFFSET keeps every list
# (queryset or Python list) answering the same way.
MAX_INT32 = 2**31 - 1
MAX_OFFSET = MAX_INT32
# Prices in micro-units (millionths of the major unit, rating): a billion major units per unit at most.
MAX_MICROS = 10**15

PositiveMinor = Annotated[StrictInt, Field(gt=0, le=MAX_MINOR, description="integer minor units, > 0")]
NonNegativeMinor = Annotated[StrictInt, Field(ge=0, le=MAX_MINOR, description="integer minor units, >= 0")]
# In a JSON body an id is a JSON integer; in a path or a query string it is digits (IdParam).
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
IdParam = Annotated[int, Field(ge=1, le=MAX_ID)]
# pydantic-core refuses lone surrogates for any constrained string; the pattern refuses NUL. Both in
# Rust, so the PPV calls pay no Python for it, and the OpenAPI document shows the pattern.
Text = Annotated[StrictStr, Field(pattern=STORABLE_TEXT_PATTERN)]
QueryText = Annotated[str, Field(pattern=STORABLE_TEXT_PATTERN)]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value):
    # Pydantic alone would also take timestamps and datetimes; we take exactly "YYYY-MM-DD".
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return date.fromisoformat(value)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class In(Schema):
    """Base of every request body."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    def changes(self) -> dict:
        """The fields the client sent (for PATCH): unset fields are not changes."""
        return self.model_dump(exclude_unset=True)


class MoneyOut(Schema):
    amount_minor: int
    amount: str = Field(description="exact decimal text in the currency's precision, e.g. '12.50'")
    currency: str


def money(value: Money | None) -> dict | None:
    if value is None:
        return None
    return {"amount_minor": value.minor, "amount": value.amount_text(), "currency": value.currency}


def minor(amount_minor: int | None, currency: str) -> dict | None:
    return None if amount_minor is None else money(Money(amount_minor, currency))


def decimal_text(value: Decimal) -> str:
    """'20.5', '20', '0': no exponent, no trailing zeros."""
    return format(Decimal(value).normalize(), "f")


class ErrorDetail(Schema):
    code: str
    message: str
    details: dict


class ErrorOut(Schema):
    error: ErrorDetail


class ActorOut(Schema):
    kind: str
    name: str
