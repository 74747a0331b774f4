"""An integrator's own data on a customer or an account (D116): ``external_id`` (its id for the row,
unique among customers and among accounts) and ``metadata`` (string keys to string values, bounded
like Stripe's: at most 50 keys, keys 1..40 characters, values at most 500). Tripleplay stores them and
shows them; no rule ever reads them. Pure checks, raising InvalidInput naming the field."""

from __future__ import annotations

from tripleplay.core import validation as v
from tripleplay.core.errors import InvalidInput

MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500
MAX_EXTERNAL_ID_LENGTH = 100


def external_id(value) -> str | None:
    """The id without surrounding blanks; null or blank clears it."""
    return v.text(value, "external_id", max_length=MAX_EXTERNAL_ID_LENGTH) or None


def metadata(value) -> dict[str, str]:
    """The whole new object (an update replaces it; ``{}`` clears it)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("metadata must be an object of string keys to string values",
                           details={"field": "metadata"})
    if len(value) > MAX_KEYS:
        raise InvalidInput(f"metadata holds at most {MAX_KEYS} keys", details={"field": "metadata"})
    for key, item in value.items():
        field = f"metadata.{key}"
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise InvalidInput(f"metadata keys must be 1..{MAX_KEY_LENGTH} characters",
                               details={"field": "metadata"})
        v.storable(key, "metadata")
        if not isinstance(item, str) or len(item) > MAX_VALUE_LENGTH:
            raise InvalidInput(f"{field} must be text of at most {MAX_VALUE_LENGTH} characters",
                               details={"field": "metadata"})
        v.storable(item, "metadata")
    return dict(value)
