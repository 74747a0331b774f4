"""Small input checks shared by services. They raise InvalidInput naming the field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from tripleplay.core.errors import InvalidInput
from tripleplay.money import CurrencyError, validate_currency

# What PostgreSQL and SQLite can store as text: no NUL (PostgreSQL refuses it) and no lone surrogate
# (no UTF-8 encoding exists for one). The API's string types declare the same rule as this pattern
# (pydantic-core refuses lone surrogates for every constrained string).
STORABLE_TEXT_PATTERN = r"^[^\x00]*$"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"
SURROGATE_MESSAGE = "must be valid Unicode text (no lone surrogates)"


def unstorable_problem(value: str) -> str | None:
    """Why a database cannot store ``value`` (NUL on PostgreSQL, a lone surrogate in either), or None."""
    if "\x00" in value:
        return NUL_MESSAGE
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def storable(value: str, field: str) -> str:
    """``value`` if a database can store it, else InvalidInput naming ``field``."""
    problem = unstorable_problem(value)
    if problem:
        raise InvalidInput(f"{field} {problem}", details={"field": field})
    return value


def text(value, field: str, *, required: bool = False, max_length: int = 200) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", details={"field": field})
    storable(value, field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required", details={"field": field})
    if len(value) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", details={"field": field})
    return value


def choice(value, field: str, choices) -> str:
    allowed = [c.value if hasattr(c, "value") else c for c in choices]
    if value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}", details={"field": field, "allowed": allowed})
    return value


def email(value, field: str = "email") -> str:
    value = text(value, field, max_length=254)
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise InvalidInput(f"{field} is not a valid e-mail address", details={"field": field}) from None
    return value


def currency(value, field: str = "currency") -> str:
    try:
        return validate_currency(value)
    except CurrencyError as e:
        raise InvalidInput(str(e), code="unknown_currency", details={"field": field}) from None


def minor_amount(value, field: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be an integer number of minor units", details={"field": field})
    if value < minimum:
        raise InvalidInput(f"{field} must be at least {minimum}", details={"field": field})
    return value


def percent(value, field: str) -> Decimal:
    if isinstance(value, float):
        raise InvalidInput(f"{field} must be a decimal string such as '20.5', not a float", details={"field": field})
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{field} must be a decimal number", details={"field": field}) from None
    if not d.is_finite() or d < 0 or d > 100 or d.as_tuple().exponent < -4:
        raise InvalidInput(f"{field} must be between 0 and 100 with at most 4 decimals", details={"field": field})
    return d
