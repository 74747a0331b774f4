"""Who may do what through the REST API (roles: tripleplay.core.actors.Role).

=====================================================  =======  =======  =======
Endpoint                                               admin    finance  support
=====================================================  =======  =======  =======
every GET (customers, accounts, funds, entries, holds,  yes      yes      yes
products, plans, audit, status history)
GET /me                                                yes      yes      yes
POST/PATCH customers, customer status                  yes      yes      no
POST/PATCH accounts, account status, main product,     yes      yes      no
add-ons (add, remove)
money: payments, credits, debits, refunds, holds       yes      yes      no
(place, capture, release)
invoices: out-of-turn invoice, void (credit note)      yes      yes      no
usage records: POST xdrs (batch), xdrs/rerate        yes      yes      no
rate tables: POST rate-tables, PUT rates/peak-window  yes      no       no
catalog writes: products and plans (create, update,    yes      no       no
retire, delete), bundle rules (create, update)
API clients: list, create, revoke                      yes      no       no
voucher batches: create, disable                       yes      yes      no
voucher redemption on behalf of a customer             yes      yes      yes
IVR clients: list, create, revoke                      yes      no       no
softswitches: create                                   yes      no       no
webhooks: replay a delivery or an event               yes      yes      no
webhooks: endpoints (create, change, rotate secret)    yes      no       no
notifications: retry; a customer's preferences         yes      yes      no
notifications: templates (change)                      yes      no       no
=====================================================  =======  =======  =======

A principal without a role never gets this far (403 in tripleplay.api.auth). Each handler states its
rule with ``require(request, *roles)`` as its first line; a refusal is a 403 ``permission_denied``.
The check runs after the request is parsed, so a malformed request may be answered 422 before a
403: nothing is written either way.
"""

from __future__ import annotations

from tripleplay.access.roles import ADMINS, OPERATIONS, READERS
from tripleplay.core.actors import Actor, Role
from tripleplay.core.errors import PermissionDenied

__all__ = ["ADMINS", "OPERATIONS", "READERS", "require"]


def require(request, *roles: Role) -> Actor:
    """The caller's Actor if its role is one of ``roles``; else PermissionDenied (403)."""
    actor: Actor | None = getattr(request, "actor", None)
    if actor is None or actor.role not in roles:
        role = actor.role.value if actor is not None and actor.role else None
        raise PermissionDenied(
            f"the {role or 'anonymous'} role may not do this",
            details={"role": role, "allowed_roles": [r.value for r in roles]},
        )
    return actor
