"""Discovery of plug-in modules: every module of a package that defines a subclass of ``base`` with a
non-empty ``key`` attribute is registered under that key (adapters by ``kind``, simulators by ``name``),
so that adding a plug-in means adding its module, nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def discover(package: ModuleType, base: type, key: str, skip: set[str]) -> dict[str, type]:
    found: dict[str, type] = {}
    for module in pkgutil.iter_modules(package.__path__):
        if module.name in skip or module.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{package.__name__}.{module.name}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, base) and obj is not base and getattr(obj, key, ""):
                found[getattr(obj, key)] = obj
    return dict(sorted(found.items()))
