"""session.disconnected: billing forces a charging session to end (its prepaid funds ran out) and
the event is written in that report's transaction, with one delivery per endpoint that wants it."""

from __future__ import annotations

from tripleplay.sessions import services
from tripleplay.sessions.models import ChargingSession
from tripleplay.sessions.tests.conftest import SWITCH, subscriber, world  # noqa: F401 - fixtures
from tripleplay.webhooks.tests.conftest import deliveries_of, events_of


def test_a_forced_end_emits_session_disconnected(endpoint, subscriber):  # noqa: F811
    wants, other = endpoint(["session.disconnected"]), endpoint(["invoice.paid"])
    account = subscriber(100)  # 10 minutes' worth
    services.start(SWITCH, session_id="c1", service_type="voice", subscriber=account.phone_number,
                   destination="15559999")
    services.update(SWITCH, session_id="c1", used=300)
    assert events_of("session.disconnected") == []
    services.update(SWITCH, session_id="c1", used=600)  # the funds are exhausted: the session must end
    services.update(SWITCH, session_id="c1", used=600)  # a retried report: no second event
    [event] = events_of("session.disconnected")
    session = ChargingSession.objects.get()
    assert event.payload == {"session": session.pk, "client": SWITCH, "session_id": "c1", "account_id": account.pk,
                             "customer_id": account.customer_id, "reason": "quota_exhausted",
                             "code": "insufficient_funds"}
    assert deliveries_of(wants.endpoint) == [("session.disconnected", "pending")]
    assert deliveries_of(other.endpoint) == []
