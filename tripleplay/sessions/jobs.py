"""The sessions app's periodic job (registered in tripleplay.sessions.apps; see tripleplay.core.scheduler)."""

from __future__ import annotations

from tripleplay.core.scheduler import PeriodicJob
from tripleplay.sessions.services import settle_windows, sweep_silent


def sweep_sessions() -> str:
    # Windows first: a silent session's window charges are posted by the sweeper either way (D280).
    settled = settle_windows()
    return f"settled {settled} closed fast windows, ended {sweep_silent()} silent charging sessions"


JOBS = (PeriodicJob("sweep-sessions", sweep_sessions, default_seconds=60),)
