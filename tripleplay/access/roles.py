"""Which roles may do what, by kind of action: one set of rules for the REST API
(tripleplay.api.permissions) and the operator web interface (tripleplay.web.access), so the two can
never drift. The roles themselves are tripleplay.core.actors.Role."""

from __future__ import annotations

from tripleplay.core.actors import Role

READERS = (Role.ADMIN, Role.FINANCE, Role.SUPPORT)
OPERATIONS = (Role.ADMIN, Role.FINANCE)  # customers, accounts and money
ADMINS = (Role.ADMIN,)  # catalog and API clients
