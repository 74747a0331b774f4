"""The TV-screen order rule: may this platform's subscriber order this, now, before money is touched?

A pure function of what the lookup found (``Found``) and what the platform asked (``Asked``): the
refusal code and message, or none. The funds check is not here: it is the ledger's conditional
UPDATE, reached through subscriptions.services (add_addon_and_charge and its twins), the only place
where the check and the charge cannot be raced apart (insufficient_funds, decided there).

The refusals, in the order they are decided (``REFUSALS``): unknown_subscriber (also another
platform's subscriber: the same answer, D181); unknown_product; unknown_plan (no such plan of the
product, or a retired one; for a removal, not the plan the add-on is on, decided after not_subscribed);
plan_required (the product has several plans on sale and none was
named); not_orderable (the operator did not allow this product on this platform); wrong_product_kind
(add and remove take an add-on, change a main product); currency_mismatch;
customer_closed/blocked/suspended; account_closed/blocked/suspended; already_subscribed (add);
not_subscribed (remove); no_change (change to the current plan).
"""

from __future__ import annotations

from typing import NamedTuple

from tripleplay.customers.models import Status

ADD, REMOVE, CHANGE = "add", "remove", "change"
ACTIONS = (ADD, REMOVE, CHANGE)
REFUSALS = ("unknown_subscriber", "unknown_product", "unknown_plan", "plan_required", "not_orderable",
            "wrong_product_kind", "currency_mismatch", "customer_closed", "customer_blocked", "customer_suspended",
            "account_closed", "account_blocked", "account_suspended", "already_subscribed", "not_subscribed",
            "no_change")
# Refusals a service can still answer after the rule passed (a concurrent change won the race).
LATE_REFUSALS = ("insufficient_funds", "customer_not_active", "duplicate", "already_ended", "plan_retired",
                 "account_closed")

_STATUS_REFUSAL = {Status.CLOSED: "closed", Status.BLOCKED: "blocked", Status.SUSPENDED: "suspended"}


class Asked(NamedTuple):
    subscriber: str
    action: str
    product: str
    plan: str | None


class Found(NamedTuple):
    """The facts of one order (None fields: not found)."""

    customer_status: str
    customer_currency: str
    account_status: str
    product_kind: str | None  # None: no such product
    product_currency: str | None
    plan_count: int  # plans of the product on sale (when no plan was named)
    plan_code: str | None  # the named plan (or the only one on sale), on sale, of this product; None: none.
    # For a removal: the plan the account's add-on is on.
    orderable: bool  # a TvOrderable row for (platform, product)
    current_main_plan: str | None  # the account's main plan code today
    has_product: bool  # the account has this add-on product today (not ended)


class Decision(NamedTuple):
    refusal: str | None
    message: str


def decide(asked: Asked, found: Found | None) -> Decision:
    if found is None:
        return Decision("unknown_subscriber", f"no subscriber {asked.subscriber} on this platform")
    if found.product_kind is None:
        return Decision("unknown_product", f"no product {asked.product}")
    if asked.action != REMOVE:
        if asked.plan is None and found.plan_count > 1:
            return Decision("plan_required", f"product {asked.product} has {found.plan_count} plans: name one")
        if found.plan_code is None:
            return Decision("unknown_plan", f"no plan {asked.plan or 'on sale'} of product {asked.product}")
    if not found.orderable:
        return Decision("not_orderable", f"product {asked.product} cannot be ordered from this platform")
    expected = "main" if asked.action == CHANGE else "addon"
    if found.product_kind != expected:
        return Decision("wrong_product_kind", f"{asked.action} takes a {expected} product; {asked.product} is "
                                              f"a {found.product_kind} product")
    if found.product_currency != found.customer_currency:
        return Decision("currency_mismatch", f"product {asked.product} is sold in {found.product_currency}, the "
                                             f"customer pays in {found.customer_currency}")
    if found.customer_status in _STATUS_REFUSAL:
        refusal = "customer_" + _STATUS_REFUSAL[found.customer_status]
        return Decision(refusal, f"order refused: {refusal.replace('_', ' ')}")
    if found.account_status in _STATUS_REFUSAL:
        refusal = "account_" + _STATUS_REFUSAL[found.account_status]
        return Decision(refusal, f"order refused: {refusal.replace('_', ' ')}")
    if asked.action == ADD and found.has_product:
        return Decision("already_subscribed", f"the subscriber already has {asked.product}")
    if asked.action == REMOVE and not found.has_product:
        return Decision("not_subscribed", f"the subscriber does not have {asked.product}")
    if asked.action == REMOVE and asked.plan is not None and asked.plan != found.plan_code:
        # A removal may name the plan: then it must be the one the add-on is on.
        return Decision("unknown_plan", f"the subscriber has {asked.product} on {found.plan_code}, not {asked.plan}")
    if asked.action == CHANGE and found.current_main_plan == found.plan_code:
        return Decision("no_change", f"the subscriber is already on {found.plan_code}")
    return Decision(None, "ok")
