"""The one clock. Every piece of tripleplay asks ``clock.now()``, never ``datetime.now()``.

Tests and the demo move time: ``clock.freeze(at)``, ``clock.advance(timedelta(days=31))``,
``clock.reset()``; as a context manager, ``with clock.frozen(at): ...``. A process can also start
with a moved clock from the environment: ``TRIPLEPLAY_CLOCK=2026-01-31T10:00:00Z`` (frozen there) or
``TRIPLEPLAY_CLOCK_OFFSET=86400`` (real time shifted by that many seconds), which is how the demo's
separate processes share one moved time.

The state is process-wide (not thread-local) on purpose: worker threads in a concurrency test must
see the same moved time as the test that moved it.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

_lock = threading.Lock()
_frozen: datetime | None = None
_offset = timedelta(0)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return at.astimezone(UTC)


def _load_from_environment() -> None:
    global _frozen, _offset
    frozen = os.environ.get("TRIPLEPLAY_CLOCK", "").strip()
    offset = os.environ.get("TRIPLEPLAY_CLOCK_OFFSET", "").strip()
    if frozen:
        _frozen = _aware(datetime.fromisoformat(frozen.replace("Z", "+00:00")))
    if offset:
        _offset = timedelta(seconds=int(offset))


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    with _lock:
        if _frozen is not None:
            return _frozen
        return datetime.now(UTC) + _offset


def today() -> date:
    """Today's date in the project's time zone (settings.TIME_ZONE)."""
    from django.utils import timezone

    return timezone.localdate(now())


def freeze(at: datetime) -> None:
    global _frozen
    with _lock:
        _frozen = _aware(at)


def advance(delta: timedelta) -> datetime:
    """Move time forward (frozen or not). Returns the new now()."""
    global _frozen, _offset
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset = _offset + delta
    return now()


def reset() -> None:
    """Back to real time (and to what the environment asked for)."""
    global _frozen, _offset
    with _lock:
        _frozen = None
        _offset = timedelta(0)
        _load_from_environment()


@contextmanager
def frozen(at: datetime):
    global _frozen, _offset
    with _lock:
        saved = (_frozen, _offset)
    freeze(at)
    try:
        yield
    finally:
        with _lock:
            _frozen, _offset = saved


_load_from_environment()
