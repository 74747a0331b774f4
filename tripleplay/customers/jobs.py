"""The customers app's periodic job (registered in tripleplay.customers.apps; see
tripleplay.core.scheduler): vacation holds start and end on their dates."""

from __future__ import annotations

from tripleplay.core.actors import Actor
from tripleplay.core.scheduler import PeriodicJob
from tripleplay.customers.vacation import run_holds


def vacation_holds() -> str:
    started, ended = run_holds(Actor.system("vacation-holds"))
    return f"vacation holds: {started} started, {ended} ended"


JOBS = (PeriodicJob("vacation-holds", vacation_holds, default_seconds=3600),)
