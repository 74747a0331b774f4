"""The OpenAPI document has one schema per class name (django-ninja keys components by name): two
request or answer classes with the same name anywhere in the API would make one endpoint's document show
the other's shape. Every schema class of the API modules has a name of its own."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

from pydantic import BaseModel

import tripleplay.api


def test_every_schema_class_of_the_api_has_a_name_of_its_own():
    owners = defaultdict(set)
    for info in pkgutil.iter_modules(tripleplay.api.__path__):
        if info.name == "tests":
            continue
        module = importlib.import_module(f"tripleplay.api.{info.name}")
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == module.__name__:
                owners[obj.__name__].add(module.__name__)
    assert {name: sorted(mods) for name, mods in owners.items() if len(mods) > 1} == {}
