"""Delivery rules as pure functions: when to retry, when to give up, what an endpoint accepts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

EVENT_TYPES = (
    "customer.status_changed",
    "invoice.issued",
    "invoice.paid",
    "payment.recorded",
    "provisioning.failed",
    "ppv.purchased",
    "session.disconnected",
    "order.placed",
)
ALL = "*"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n (1-based, failed) waits base * 2^(n-1), capped, times
    a random factor in [0.5, 1.5); after ``max_attempts`` failures the delivery is failed (dead letter).
    The defaults: 5 s, 10 s, 20 s ... 12 attempts over about three hours (the sum of 11 waits, 10 235 s
    before jitter); the cap (4 h) bounds longer policies."""

    base_seconds: float = 5.0
    cap_seconds: float = 4 * 3600.0
    max_attempts: int = 12

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        exp = min(self.cap_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=exp * rng.uniform(0.5, 1.5))

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


def succeeded(status_code: int | None) -> bool:
    """Standard Webhooks: any 2xx is a success; anything else (3xx included: redirects are not followed),
    a timeout or a connection error is a failure to retry."""
    return status_code is not None and 200 <= status_code < 300


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint, or None: absolute http(s) with a host, no credentials in it."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry credentials (the signature authenticates the sender)"
    if any(c.isspace() for c in url):
        return "must not contain spaces"
    return None


def event_types_problem(types: list[str]) -> str | None:
    if not types:
        return f"must list at least one event type, or {ALL!r} for all"
    unknown = [t for t in types if t != ALL and t not in EVENT_TYPES]
    if unknown:
        return f"has unknown event types: {', '.join(unknown)}"
    return None


def normalized_types(types: list[str]) -> list[str]:
    return [ALL] if ALL in types else sorted(set(types))
