"""Portal access's periodic job (registered in tripleplay.subscriber_access.apps): forget what no
longer matters, so the throttling and session tables stay small."""

from __future__ import annotations

from tripleplay.core.scheduler import PeriodicJob
from tripleplay.subscriber_access.services import forget_expired


def portal_cleanup() -> str:
    failures, sessions, tokens = forget_expired()
    return f"forgot {failures} old login failures, {sessions} ended sessions, {tokens} spent links"


JOBS = (PeriodicJob("portal-cleanup", portal_cleanup, default_seconds=3600),)
