"""Why a charging session is refused or must end: pure functions, no database (docs/sessions.md).

Real time is stricter than rating after the fact: rating still rates a suspended account's usage
(it happened), but the network is not allowed to start or continue a session for an account or a
customer that is not active (suspended, blocked, closed)."""

from __future__ import annotations

from typing import NamedTuple

from tripleplay.customers.models import Status


class Refusal(NamedTuple):
    code: str
    message: str


UNKNOWN_SUBSCRIBER = "unknown_subscriber"
NO_SUBSCRIPTION = "no_subscription"
NO_RATE = "no_rate"
CURRENCY_MISMATCH = "currency_mismatch"
INSUFFICIENT_FUNDS = "insufficient_funds"
# Why a session must end (the SESSION_MUST_END hook's reasons).
QUOTA_EXHAUSTED = "quota_exhausted"
NOT_ALLOWED = "not_allowed"


def status_refusal(account_status: str, customer_status: str) -> Refusal | None:
    """None when both are active; else the refusal, the customer's status first (it decides for all
    of its accounts): ``customer_suspended``, ``account_blocked``, ..."""
    if customer_status != Status.ACTIVE:
        return Refusal(f"customer_{customer_status}", f"the customer is {customer_status}")
    if account_status != Status.ACTIVE:
        return Refusal(f"account_{account_status}", f"the account is {account_status}")
    return None


def unknown_subscriber(kind: str, value: str) -> Refusal:
    return Refusal(UNKNOWN_SUBSCRIBER, f"no account with {kind} {value!r}")
