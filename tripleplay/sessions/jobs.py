"""The sessions app's periodic job (registered in tripleplay.sessions.apps; see tripleplay.core.scheduler)."""

from __future__ import annotations

from tripleplay.core.scheduler import PeriodicJob
from tripleplay.sessions.services import sweep_silent


def sweep_sessions() -> str:
    return f"ended {sweep_silent()} silent charging sessions"


JOBS = (PeriodicJob("sweep-sessions", sweep_sessions, default_seconds=60),)
