"""Hooks the sessions app declares for the apps above it (tripleplay/core/hooks.py).

SESSION_MUST_END runs inside the transaction of the report that found that a session cannot go on:
its quota could not be renewed (funds exhausted: nothing granted beyond what was used) or its
account or customer is no longer active. The RADIUS app registers a handler that writes a
Disconnect-Request for the session's NAS to its outbox (committed with the report, or not at all).
A handler receives a ``SessionMustEnd``; it must not end the session itself: the NAS's
Accounting-Stop (or the sweeper) does, and charges the rest."""

from __future__ import annotations

from dataclasses import dataclass

from tripleplay.core.hooks import Hook


@dataclass(frozen=True)
class SessionMustEnd:
    session_pk: int
    client: str  # "nas:7", "switch:3": whose session it is
    session_id: str  # the client's own id (Acct-Session-Id)
    account_id: int
    customer_id: int
    reason: str  # decision.QUOTA_EXHAUSTED or decision.NOT_ALLOWED
    code: str  # the detail: insufficient_funds, customer_suspended, account_blocked, ...


SESSION_MUST_END: Hook = Hook(
    "sessions.SESSION_MUST_END",
    doc="A session's quota could not be renewed or its account is no longer allowed; in the report's transaction.",
)
