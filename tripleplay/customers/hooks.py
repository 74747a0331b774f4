"""What the customers app lets upper layers react to, inside its own transaction
(tripleplay.core.hooks). Each hook is called where the change is written, after the row is saved.

Registered by (AppConfig.ready()): tripleplay.ledger.apps (funds: sign-up, credit limit) and
tripleplay.iptv.apps (provisioning: customer and account changes). ``HOOK.handlers()`` lists them.
"""

from __future__ import annotations

from tripleplay.core.actors import Actor
from tripleplay.core.hooks import Hook
from tripleplay.customers.models import Account, Customer
from tripleplay.money import Money

CUSTOMER_SIGNED_UP: Hook[[Customer, Money]] = Hook(
    "customers.customer_signed_up",
    doc="A new customer, with its credit limit: the ledger opens its funds row.",
    required=True,
)

CREDIT_LIMIT_CHANGED: Hook[[Actor, Customer, Money]] = Hook(
    "customers.credit_limit_changed",
    doc="The customer's credit limit (or balance model) changed: the ledger sets it on the funds row.",
    required=True,
)

CUSTOMER_CHANGED: Hook[[Actor, Customer, str]] = Hook(
    "customers.customer_changed",
    doc="A change the platforms keep (status, name), with its provisioning event name (Customer/Blocked, "
        "...): IPTV provisioning writes the commands for every account of the customer.",
)

ACCOUNT_CHANGED: Hook[[Actor, Account, str]] = Hook(
    "customers.account_changed",
    doc="An account created or changed (status, identifiers, products), with its provisioning event name "
        "(Account/New, ...): IPTV provisioning writes the commands that bring the platforms to it.",
)
