"""Reads of charging sessions (writes are in services.py), for the operator pages and the API."""

from __future__ import annotations

from django.db.models import QuerySet

from tripleplay.customers.models import Account, Customer
from tripleplay.sessions.models import ChargingSession, SessionStatus, Softswitch


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


def pending_reports(keys) -> dict[tuple[str, str], ChargingSession]:
    """The sessions among ``keys`` ((client, session id) pairs) with reports the fast path took and
    their client has not folded yet (D295: ``fast_reports`` and the counters ``reported_*``)."""
    keys = list(keys)
    if not keys:
        return {}
    rows = ChargingSession.objects.filter(client__in={k[0] for k in keys}, session_id__in={k[1] for k in keys},
                                          status=SessionStatus.ACTIVE, fast_reports__gt=0)
    return {(c.client, c.session_id): c for c in rows.only("client", "session_id", "fast_reports", "reported_input",
                                                          "reported_output", "reported_seconds", "reported_address",
                                                          "last_seen_at")}


def softswitches() -> QuerySet[Softswitch]:
    return Softswitch.objects.order_by("code")


def calls(*, customer: Customer | int, limit: int = 50) -> QuerySet[ChargingSession]:
    """A customer's voice sessions (calls), active and ended, newest first."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    return (ChargingSession.objects.filter(customer_id=customer_id, service_type="voice").select_related("account")
            .order_by("-id")[:limit])
