"""The PPV app's periodic job (registered in tripleplay.ppv.apps; see tripleplay.core.scheduler).
It lives here, not in the ledger, because PPV authorizations must expire before the ledger's sweep
of the holds left: each releases its own hold and notes why on the purchase."""

from __future__ import annotations

from tripleplay.core.scheduler import PeriodicJob
from tripleplay.ledger.services import expire_holds as expire_ledger_holds
from tripleplay.ppv.services import expire_authorizations


def expire_holds() -> str:
    purchases = expire_authorizations()
    return f"expired {purchases} PPV authorizations, released {expire_ledger_holds()} other expired holds"


JOBS = (PeriodicJob("expire-holds", expire_holds, default_seconds=60),)
