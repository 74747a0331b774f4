"""The PPV authorization rule: may this subscriber buy this, now, before any money is touched?

A pure function of what one lookup found (``Found``) and what the platform asked (``Asked``). It
answers the refusal (code and message) or no refusal, together with the purchase's terms as far as
they were known when it stopped: a declined purchase row records them (tests compare those rows).
The funds check is not here: it is the ledger's conditional UPDATE (ledger.place_hold), the only
place where the check and the hold cannot be raced apart.

The refusals, in the order they are decided: unknown_subscriber; with an event, unknown_event,
price_mismatch, currency_mismatch (event), event_not_available; currency_mismatch (customer's
currency); customer_closed/blocked/suspended; account_closed/blocked/suspended; ppv_disabled.

PostgreSQL's fast path, the PL/pgSQL function ``ppv_authorize_approve`` (installed by ppv's
migrations), mirrors these rules: it approves only when ``decide`` refuses nothing, the price is above
zero and the funds cover it; in every other case it returns NULL, writes nothing, and the Python
path, which calls ``decide``, answers. A change to a rule here must be made there too:
tripleplay/ppv/tests/test_decision.py runs every refusal in ``REFUSALS`` through both.
"""

from __future__ import annotations

from typing import NamedTuple

from tripleplay.customers.models import Status

EXPLICIT_PRICE_TITLE = "Pay-per-view purchase"


class Asked(NamedTuple):
    """What the platform asked: an event of its catalog, or an explicit price (and currency)."""

    subscriber: str
    event_id: str | None
    price_minor: int | None
    currency: str | None


class Found(NamedTuple):
    """The facts of one authorization, in the column order of ppv.services' lookup SELECT."""

    account_id: int
    account_status: str
    customer_id: int
    customer_status: str
    customer_currency: str
    event_pk: int | None  # None: the platform has no such event
    event_title: str | None
    event_content_owner: str | None
    event_price_minor: int | None
    event_currency: str | None
    event_on_sale: bool  # active and inside its sale window now
    ppv_allowed: bool  # the account has a PPV service today


class Terms(NamedTuple):
    """What is being bought, as far as the decision got (a declined purchase records it)."""

    event_pk: int | None
    title: str
    content_owner: str
    price_minor: int | None
    currency: str


class Decision(NamedTuple):
    refusal: str | None  # None: approve, if the funds cover terms.price_minor
    message: str
    terms: Terms


# Every refusal ``decide`` can answer, in the order it decides them.
REFUSALS = ("unknown_subscriber", "unknown_event", "price_mismatch", "currency_mismatch", "event_not_available",
            "customer_closed", "customer_blocked", "customer_suspended", "account_closed", "account_blocked",
            "account_suspended", "ppv_disabled")
APPROVE_MESSAGE = "approved: funds held until confirmed or cancelled"

_STATUS_REFUSAL = {Status.CLOSED: "closed", Status.BLOCKED: "blocked", Status.SUSPENDED: "suspended"}
_NOTHING = Terms(None, "", "", None, "")


def decide(asked: Asked, found: Found | None) -> Decision:
    """The refusal, or None, with the terms. ``found`` is None when the platform has no such
    subscriber (or it is another platform's: the same answer either way)."""
    if found is None:
        return Decision("unknown_subscriber", f"no subscriber {asked.subscriber} on this platform", _NOTHING)
    currency = found.customer_currency
    if asked.event_id is not None:
        if found.event_pk is None:
            return Decision("unknown_event", f"no PPV event {asked.event_id} on this platform",
                            Terms(None, "", "", None, currency))
        title, owner, price = found.event_title, found.event_content_owner, found.event_price_minor
        if asked.price_minor is not None and asked.price_minor != price:
            return Decision("price_mismatch", f"the event costs {price}, not {asked.price_minor}",
                            Terms(found.event_pk, title, owner, None, currency))
        terms = Terms(found.event_pk, title, owner, price, found.event_currency)
        if asked.currency is not None and asked.currency != found.event_currency:
            return Decision("currency_mismatch",
                            f"the event is priced in {found.event_currency}, not {asked.currency}", terms)
        if not found.event_on_sale:
            return Decision("event_not_available", f"{title} cannot be bought now", terms)
    else:
        terms = Terms(None, EXPLICIT_PRICE_TITLE, "", asked.price_minor, asked.currency or currency)
    if terms.currency != currency:
        return Decision("currency_mismatch", f"priced in {terms.currency}, the customer pays in {currency}", terms)
    refusal = None
    if found.customer_status in _STATUS_REFUSAL:
        refusal = "customer_" + _STATUS_REFUSAL[found.customer_status]
    elif found.account_status in _STATUS_REFUSAL:
        refusal = "account_" + _STATUS_REFUSAL[found.account_status]
    elif not found.ppv_allowed:
        refusal = "ppv_disabled"
    if refusal:
        return Decision(refusal, f"purchase refused: {refusal.replace('_', ' ')}", terms)
    return Decision(None, APPROVE_MESSAGE, terms)
