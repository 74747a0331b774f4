"""Finds every adapter module in this package: adding a platform needs no edit here."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from tripleplay.iptv.platforms.base import Adapter, PlatformConfig

_NOT_ADAPTERS = {"base", "registry"}


@lru_cache(maxsize=1)
def adapters() -> dict[str, type[Adapter]]:
    import tripleplay.iptv.platforms as package

    found: dict[str, type[Adapter]] = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name in _NOT_ADAPTERS or module.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{package.__name__}.{module.name}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, Adapter) and obj is not Adapter and obj.kind:
                found[obj.kind] = obj
    return dict(sorted(found.items()))


def kinds() -> list[str]:
    return list(adapters())


def adapter_for(kind: str, config: PlatformConfig) -> Adapter:
    try:
        cls = adapters()[kind]
    except KeyError:
        raise ValueError(f"unknown platform kind {kind!r}; known: {', '.join(kinds())}") from None
    return cls(config)
