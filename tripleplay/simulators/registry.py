"""Finds every simulator module in this package (one per adapter kind)."""

from __future__ import annotations

from functools import lru_cache

from tripleplay.core.plugins import discover
from tripleplay.simulators.base import Simulator

# stripe_api: a payment provider; nas: a RADIUS NAS; sms_twilio: an SMS provider; none is an IPTV platform
_NOT_SIMULATORS = {"base", "registry", "testing", "__main__", "stripe_api", "nas", "sms_twilio"}


@lru_cache(maxsize=1)
def simulators() -> dict[str, type[Simulator]]:
    import tripleplay.simulators as package

    return discover(package, Simulator, "name", _NOT_SIMULATORS)
