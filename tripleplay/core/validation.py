"""Small input checks shared by services. They raise InvalidInput naming the field."""

from __future__ import annotations

import re
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


_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_PHONE_PUNCTUATION = str.maketrans("", "", " \t-./()\u00a0")


def phone_e164(value, field: str = "phone") -> str:
    """A customer's phone number, stored in E.164 ("+" then at most 15 digits, no leading 0: ITU-T E.164,
    and what Twilio's "To" takes): spaces, dashes, dots, slashes and brackets are dropped and a leading
    international "00" becomes "+"; anything else (a national number without its country code) is
    refused. Empty stays empty (no phone)."""
    value = text(value, field, max_length=40)
    if not value:
        return value
    number = value.replace("(0)", "") if value.startswith(("+", "00")) else value  # "+49 (0)151 ...": no trunk 0
    number = number.translate(_PHONE_PUNCTUATION)
    if number.startswith("00"):
        number = "+" + number[2:]
    if not _E164.fullmatch(number):
        raise InvalidInput(f"{field} must be an international number in E.164 form, such as +4915112345678 "
                           "(a + and the country code, then at most 15 digits)",
                           code="invalid_phone_number", details={"field": field})
    return number


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
