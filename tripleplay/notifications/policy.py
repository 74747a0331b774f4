"""Delivery rules as pure functions: when to retry, when to give up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

TRANSIENT, PERMANENT, UNKNOWN = "transient", "permanent", "unknown"


@dataclass(frozen=True)
class Outcome:
    """What a provider call came to. ``sent`` with the provider's id; otherwise ``failure`` says whether
    trying again may help (transient), cannot (permanent), or might send the message twice (unknown: the
    request may have reached the provider, whose answer was lost)."""

    sent: bool
    provider_id: str = ""
    failure: str = ""
    error: str = ""
    provider_status: str = ""  # SMS: the message's status in the provider's answer ("queued")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n (1-based, failed) waits base * 2^(n-1), capped, times a
    random factor in [0.5, 1.5); after ``max_attempts`` the notification fails (dead letter). The
    defaults: 30 s, 1 min, 2 min ... 8 attempts over about an hour."""

    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        exp = min(self.cap_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        return timedelta(seconds=exp * rng.uniform(0.5, 1.5))

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
