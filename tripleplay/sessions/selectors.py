"""Reads of charging sessions (writes are in services.py), for the operator pages and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from tripleplay.customers.models import Account, Customer
from tripleplay.sessions.models import ChargingSession, ChargingWindow, SessionStatus, Softswitch


def active_sessions(*, customer: Customer | int | None = None, account: Account | int | None = None
                    ) -> QuerySet[ChargingSession]:
    """Active sessions, newest first, of one customer or one account (or all): usage so far
    (``used_wire`` seconds or bytes), ``granted``, ``charged_minor``, the client and its session id."""
    qs = ChargingSession.objects.filter(status=SessionStatus.ACTIVE).select_related("account")
    if customer is not None:
        qs = qs.filter(customer_id=customer if isinstance(customer, int) else customer.pk)
    if account is not None:
        qs = qs.filter(account_id=account if isinstance(account, int) else account.pk)
    return qs.order_by("-id")


def sessions_of_client(client: str) -> QuerySet[ChargingSession]:
    return ChargingSession.objects.filter(client=client).order_by("-id")


def session_of_client(client: str, session_id: str) -> ChargingSession | None:
    """A client's own session (a switch sees only the sessions it started)."""
    return ChargingSession.objects.filter(client=client, session_id=session_id).first()


def pending_reports(keys) -> dict[tuple[str, str], ChargingWindow]:
    """The windows of the sessions among ``keys`` ((client, session id) pairs) with reports the fast
    path took and their client has not folded yet (D295, D296: ``reports`` and the counters
    ``reported_*``)."""
    keys = list(keys)
    if not keys:
        return {}
    rows = (ChargingWindow.objects.filter(session__client__in={k[0] for k in keys},
                                          session__session_id__in={k[1] for k in keys},
                                          session__status=SessionStatus.ACTIVE, reports__gt=0)
            .select_related("session").only("session__client", "session__session_id", "reports", "reported_input",
                                            "reported_output", "reported_seconds", "reported_address",
                                            "last_seen_at"))
    return {(w.session.client, w.session.session_id): w for w in rows}


def with_windows(sessions):
    """``sessions`` (charging sessions, a page) as they are now: what the fast path charged in their
    windows (D296) laid over the objects (each of used_wire, billed, charged_minor, last_seen_at the
    greater), as the Python path folds it under the session's lock. Nothing written."""
    sessions = list(sessions)
    windows = {w.session_id: w for w in ChargingWindow.objects.filter(session_id__in=[s.pk for s in sessions])
               .only("session_id", "used_wire", "billed", "charged_minor", "last_seen_at")}
    for s in sessions:
        if s.pk in windows:
            lay_window_over(s, windows[s.pk])
    return sessions


def lay_window_over(s: ChargingSession, w: ChargingWindow) -> None:
    """``w``'s charged state on ``s`` (the object only): each of used_wire, billed, charged_minor and
    last_seen_at the greater. Cumulative values, so laying it over again changes nothing."""
    s.used_wire, s.billed = max(s.used_wire, w.used_wire), max(s.billed, w.billed)
    s.charged_minor, s.last_seen_at = max(s.charged_minor, w.charged_minor), max(s.last_seen_at, w.last_seen_at)


def softswitches() -> QuerySet[Softswitch]:
    return Softswitch.objects.order_by("code")


def calls(*, customer: Customer | int, limit: int = 50) -> QuerySet[ChargingSession]:
    """A customer's voice sessions (calls), active and ended, newest first."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    return (ChargingSession.objects.filter(customer_id=customer_id, service_type="voice").select_related("account")
            .order_by("-id")[:limit])
