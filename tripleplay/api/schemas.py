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
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AwareDatetime, BeforeValidator, ConfigDict, StrictInt, StrictStr, WithJsonSchema

from tripleplay.core.validation import STORABLE_TEXT_PATTERN
from tripleplay.money import NOT_MONEY, Money, list_money_currencies

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

# Python's whitespace (str.isspace, what str.strip() removes): the services strip text before they
# require it; a required text must hold one character outside this set (and no NUL anywhere). Written
# out, because regex engines disagree on \s (Python's includes \x1c-\x1f, Unicode's does not).
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
REQUIRED_TEXT_PATTERN = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"


def Secret(min_length: int, max_length: int):  # noqa: N802
    """A secret the services take as given after stripping: no whitespace at either end (a NUL nowhere),
    ``min_length`` to ``max_length`` characters."""
    return Annotated[StrictStr, Field(min_length=min_length, max_length=max_length,
                                      pattern=rf"^[^\x00{_SPACE}](?:[^\x00]*[^\x00{_SPACE}])?$")]


_PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
HTTP_URL_PATTERN = rf"^https?://[A-Za-z0-9._~-]+(?::{_PORT})?(?:/[^\x00{_SPACE}]*)?$"
HttpUrl = Annotated[StrictStr, Field(max_length=500, pattern=HTTP_URL_PATTERN,
                                     description="absolute http(s) URL: a host, an optional port, no credentials")]
IpAddress = Annotated[StrictStr, Field(max_length=45), WithJsonSchema({
    "anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}],
    "description": "an IPv4 or IPv6 address"})]


def RequiredText(max_length: int = 200):  # noqa: N802 - a type, spelled as one
    """Text that must not be blank, at most ``max_length`` characters (the column's size)."""
    return Annotated[StrictStr, Field(min_length=1, max_length=max_length, pattern=REQUIRED_TEXT_PATTERN)]


def OptionalText(max_length: int = 200):  # noqa: N802
    """Text that may be empty, at most ``max_length`` characters (the column's size)."""
    return Annotated[StrictStr, Field(max_length=max_length, pattern=STORABLE_TEXT_PATTERN)]


def _printable_class(*, space: bool) -> str:
    """A regex character class of every character str.isprintable() accepts (with or without the
    space), written with the characters themselves: Python's re, Rust's regex (pydantic-core) and
    ECMA regexes (the document's readers) spell escapes of the astral planes differently."""
    ranges, start = [], None
    for cp in range(0x110000):
        ok = chr(cp).isprintable() and not 0xD800 <= cp <= 0xDFFF and (space or cp != 0x20)
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))

    def literal(cp: int) -> str:
        return "\\" + chr(cp) if chr(cp) in "\\]^-[" else chr(cp)

    return "[" + "".join(literal(a) if a == b else f"{literal(a)}-{literal(b)}" for a, b in ranges) + "]"


# A platform's reference (ppv.services._ref): printable characters (str.isprintable), one that is not
# a space; spaces around it are ignored by the service.
PRINTABLE_REF_PATTERN = f"^{_printable_class(space=True)}*{_printable_class(space=False)}{_printable_class(space=True)}*$"
PRINTABLE_REF_MESSAGE = "must be printable characters, at least one of them not a space"

# Product and plan codes, platform codes (catalog.services._CODE, iptv.configuration._CODE).
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Code = Annotated[StrictStr, Field(pattern=CODE_PATTERN, description="lowercase letters, digits, '-' and '_'; unique")]

# ISO 4217 codes that are money (money.validate_currency: Babel's list less NOT_MONEY). The service
# refuses any other with 422 ``unknown_currency``; the document lists exactly the ones it accepts.
Currency = Annotated[StrictStr, WithJsonSchema({"type": "string", "enum": list_money_currencies(),
                                                "description": "ISO 4217 code of a currency that is money "
                                                f"(not {', '.join(sorted(NOT_MONEY))})"})]

# An e-mail address or empty (core.validation.email: Django's validator decides; the document says "email").
Email = Annotated[StrictStr, Field(max_length=254), WithJsonSchema({"anyOf": [
    {"type": "string", "maxLength": 0}, {"type": "string", "format": "email", "maxLength": 254}]})]

# Free-form JSON objects (adapter options, raw records): any JSON whose keys and strings a database
# can store (the JSON parser refuses NUL anywhere in a body). The document spells that out with a
# recursive schema, components/schemas/StorableJson (api/openapi.py puts it in place of this marker).
STORABLE_OBJECT_MARK = "x-tripleplay-storable-object"
StorableObject = Annotated[dict[str, Any], WithJsonSchema({"type": "object", STORABLE_OBJECT_MARK: True})]

# A percentage 0..100 with at most 4 decimals, as decimal text (core.validation.percent).
PERCENT_PATTERN = r"^(100(\.0{1,4})?|[0-9]{1,2}(\.[0-9]{1,4})?)$"
Percent = Annotated[StrictStr, Field(pattern=PERCENT_PATTERN, description="percent as decimal text, e.g. '20.5'")]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value):
    # Pydantic alone would also take timestamps and datetimes; we take exactly "YYYY-MM-DD".
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return date.fromisoformat(value)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _instant_text(value):
    # Pydantic alone would also take a number (seconds since 1970) for a time; the document says text.
    if not isinstance(value, str | datetime):
        raise ValueError("expected a time as ISO 8601 text with an offset, e.g. 2026-03-10T12:00:00Z")
    return value


# An ISO 8601 / RFC 3339 time with its offset (the document's "date-time"): no numbers, no naive times.
Instant = Annotated[AwareDatetime, BeforeValidator(_instant_text)]


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
