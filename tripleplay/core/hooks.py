"""In-transaction hooks: how a lower layer lets an upper one react without importing it.

Layers import downward only (pyproject.toml, [tool.importlinter]). When a change in a lower app must
cause work in an upper one (a payment settles invoices and lifts a suspension; a customer change
reaches the IPTV platforms), the lower app declares a ``Hook`` in its ``hooks.py`` and calls it at
the point where the reaction belongs, inside its own transaction. The upper app registers a handler
from its ``AppConfig.ready()``. So:

- the handlers run synchronously, in the caller's transaction: if one raises, the whole change
  rolls back (a handler that must not undo the change catches and logs its own failure);
- they run in ascending ``order``, which is explicit wherever it matters (lock order);
- ``Hook.handlers()`` lists them by name: from a call site a reader (or a test) sees who answers.

Not Django signals: those are global, unordered by design and hide the coupling; a hook is an
object the caller names, with its handlers' signature in its type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, ParamSpec

P = ParamSpec("P")

_DECLARED: dict[str, Hook] = {}


@dataclass(frozen=True)
class Handler(Generic[P]):
    order: int
    function: Callable[P, object]

    @property
    def name(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"


class Hook(Generic[P]):
    """A reaction point. ``required``: calling it with no handler registered is an error (the app
    that must answer is missing from INSTALLED_APPS), not a silent skip."""

    def __init__(self, name: str, *, doc: str, required: bool = False) -> None:
        if name in _DECLARED:
            raise ValueError(f"hook {name!r} is declared twice")
        self.name, self.doc, self.required = name, doc, required
        self._handlers: list[Handler[P]] = []
        _DECLARED[name] = self

    def register(self, function: Callable[P, object], *, order: int) -> None:
        """Add a handler (from an AppConfig.ready()). Registering the same function again replaces
        it; two different handlers may not share an order (which runs first would be an accident)."""
        kept = [h for h in self._handlers if h.function is not function]
        clash = next((h for h in kept if h.order == order), None)
        if clash is not None:
            raise ValueError(f"hook {self.name!r}: order {order} is taken by {clash.name}")
        self._handlers = sorted([*kept, Handler(order, function)], key=lambda h: h.order)

    def unregister(self, function: Callable[P, object]) -> None:
        self._handlers = [h for h in self._handlers if h.function is not function]

    def handlers(self) -> list[str]:
        """The registered handlers' dotted names, in calling order."""
        return [h.name for h in self._handlers]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        if self.required and not self._handlers:
            raise RuntimeError(f"hook {self.name!r} has no handler: is the app that answers it installed?")
        for handler in self._handlers:
            handler.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {', '.join(self.handlers()) or 'no handlers'}>"


def declared_hooks() -> dict[str, list[str]]:
    """Every declared hook (name -> its handlers in calling order): the whole wiring at a glance."""
    return {name: hook.handlers() for name, hook in sorted(_DECLARED.items())}
