"""Finds every simulator module in this package (one per adapter kind)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from tripleplay.simulators.base import Simulator

_NOT_SIMULATORS = {"base", "registry", "testing", "__main__"}


@lru_cache(maxsize=1)
def simulators() -> dict[str, type[Simulator]]:
    import tripleplay.simulators as package

    found: dict[str, type[Simulator]] = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name in _NOT_SIMULATORS or module.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{package.__name__}.{module.name}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, Simulator) and obj is not Simulator and obj.name:
                found[obj.name] = obj
    return dict(sorted(found.items()))
