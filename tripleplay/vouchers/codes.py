"""Voucher codes and the redemption rule, as pure functions (no database).

A code is CODE_DIGITS decimal digits (20: about 66 bits) so that it can be keyed in on a phone
(IVR, DTMF) as well as typed; it is printed in groups of four. Guessing is bounded by the throttle
(services), not by the code alone: 66 bits against a handful of tries per window.

Codes are stored as HMAC-SHA-256 under a server key, not as plain SHA-256 (D89): with a million
codes printed, a plain hash of a 66-bit code leaves 2^66 / 10^6, about 7 * 10^13 guesses, for an
offline search of a stolen table to find one valid code: hours on one GPU. Keyed, the table alone
is worthless. A deterministic hash (no per-code salt) keeps the lookup one index probe.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

CODE_DIGITS = 20
GROUP = 4
_SEPARATORS = str.maketrans("", "", " -.\t")


def new_code() -> str:
    """CODE_DIGITS random digits from the OS's CSPRNG (leading zeros kept)."""
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def normalize(text: str) -> str | None:
    """The code a person typed (spaces, dashes and dots ignored), or None if it cannot be a code."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    digits = text.translate(_SEPARATORS)
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def printable(code: str) -> str:
    """'1234 5678 ...': groups of four, as printed on the card."""
    return " ".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def code_hash(code: str, key: bytes) -> str:
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class VoucherState:
    batch_active: bool
    expires_at: datetime
    currency: str
    redeemed: bool


# Refusal codes, in the order they are checked. Each is a stable API error code.
NOT_FOUND = "voucher_not_found"
USED = "voucher_used"
DISABLED = "voucher_disabled"
EXPIRED = "voucher_expired"
CURRENCY = "voucher_currency_mismatch"


def refusal(state: VoucherState | None, *, customer_currency: str, now: datetime) -> str | None:
    """Why this voucher cannot be redeemed by a customer billed in ``customer_currency`` at ``now``,
    or None when it can. A used voucher is reported as used even if its batch was disabled since."""
    if state is None:
        return NOT_FOUND
    if state.redeemed:
        return USED
    if not state.batch_active:
        return DISABLED
    if now >= state.expires_at:
        return EXPIRED
    if state.currency != customer_currency:
        return CURRENCY
    return None
