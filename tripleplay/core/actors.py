"""Who acts. Every service takes an ``Actor`` and the audit trail records it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    OPERATOR = "operator"
    API_CLIENT = "api_client"
    SYSTEM = "system"
    SUBSCRIBER = "subscriber"  # a customer acting in the self-care portal (tripleplay.selfcare)


class Role(StrEnum):
    """Operator and API-client roles (docs/permissions.md)."""

    ADMIN = "admin"  # everything, including catalog, API clients and operators
    FINANCE = "finance"  # customers, accounts and money
    SUPPORT = "support"  # read-only


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    ref: str
    name: str
    role: Role | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name, name, Role.ADMIN)

    @classmethod
    def operator(cls, user, role: Role | None) -> Actor:
        """A logged-in Django user; its role comes from tripleplay.access.selectors.operator_actor."""
        return cls(ActorKind.OPERATOR, str(user.pk), user.get_username(), role)

    @classmethod
    def api_client(cls, client) -> Actor:
        return cls(ActorKind.API_CLIENT, str(client.pk), client.name, Role(client.role))

    @classmethod
    def platform(cls, platform) -> Actor:
        """An IPTV platform calling in (PPV, TV-screen orders, a pushed catalog) with its own credentials:
        no operator role; the services act only on the platform's own subscribers."""
        return cls(ActorKind.API_CLIENT, f"platform:{platform.pk}", f"platform {platform.code}")

    @classmethod
    def subscriber(cls, customer) -> Actor:
        """A customer logged in to the portal: no operator role; services check ownership by customer."""
        return cls(ActorKind.SUBSCRIBER, str(customer.pk), f"customer #{customer.pk}", None)

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"
