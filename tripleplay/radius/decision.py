"""The access rule: may this login connect now? A pure function of what one lookup found.

The refusals, in the order they are decided (each answered as Access-Reject with a Reply-Message
``"<code>: <message>"``): unknown_user; customer_closed / account_closed (closed); blocked;
suspended; on_hold (a vacation hold, D153); no_internet_service (the account's main product has no
internet attributes); no_funds (available funds, prepaid balance or postpaid credit left, minus holds, not above zero).
wrong_password, last: for a PAP request (the User-Password in the request, D240) by ``pap_matches``
in authorize; for CHAP and MS-CHAP by FreeRADIUS itself (chap / mschap against the cleartext password
tripleplay answers), named by tripleplay's post-auth reject endpoint (docs/radius.md).
"""

from __future__ import annotations

import hmac
from typing import NamedTuple

from tripleplay.customers.models import Status

REFUSALS = ("unknown_user", "wrong_password", "closed", "blocked", "suspended", "on_hold", "no_internet_service",
            "no_funds")

MESSAGES = {
    "unknown_user": "unknown user",
    "wrong_password": "wrong password",
    "closed": "the account is closed",
    "blocked": "the account is blocked; please contact us",
    "suspended": "the account is suspended; please pay the amount due",
    "on_hold": "the account is on a vacation hold",
    "no_internet_service": "the account has no internet service",
    "no_funds": "no funds left; please top up",
}


class Found(NamedTuple):
    account_status: str
    customer_status: str
    has_service: bool
    available_minor: int
    on_hold: bool = False  # a started vacation hold


def refusal(found: Found | None) -> str | None:
    """The refusal code, or None to accept."""
    if found is None:
        return "unknown_user"
    statuses = {found.account_status, found.customer_status}
    for status, code in ((Status.CLOSED, "closed"), (Status.BLOCKED, "blocked"), (Status.SUSPENDED, "suspended")):
        if status in statuses:
            return code
    if found.on_hold:
        return "on_hold"
    if not found.has_service:
        return "no_internet_service"
    if found.available_minor <= 0:
        return "no_funds"
    return None


def reply_message(code: str) -> str:
    return f"{code}: {MESSAGES[code]}"


def pap_request(attributes: dict[str, list[str]]) -> bool:
    """A plain PAP Access-Request: one User-Password and no CHAP or MS-CHAP proof beside it (D240)."""
    return (len(attributes.get("User-Password") or ()) == 1
            and not any(name in attributes for name in ("CHAP-Password", "MS-CHAP-Response", "MS-CHAP2-Response")))


def pap_matches(given: str, password: str) -> bool:
    """rlm_pap's check against a Cleartext-Password (``normalise = no``): the same bytes, compared in
    constant time (rad_digest_cmp)."""
    return hmac.compare_digest(given.encode(), password.encode())
