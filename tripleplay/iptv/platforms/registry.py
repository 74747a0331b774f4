"""Finds every adapter module in this package: adding a platform needs no edit here."""

from __future__ import annotations

from functools import lru_cache

from tripleplay.core.plugins import discover
from tripleplay.iptv.platforms.base import Adapter, PlatformConfig

_NOT_ADAPTERS = {"base", "registry"}


@lru_cache(maxsize=1)
def adapters() -> dict[str, type[Adapter]]:
    import tripleplay.iptv.platforms as package

    return discover(package, Adapter, "kind", _NOT_ADAPTERS)


def kinds() -> list[str]:
    return list(adapters())


def adapter_for(kind: str, config: PlatformConfig) -> Adapter:
    try:
        cls = adapters()[kind]
    except KeyError:
        raise ValueError(f"unknown platform kind {kind!r}; known: {', '.join(kinds())}") from None
    return cls(config)
