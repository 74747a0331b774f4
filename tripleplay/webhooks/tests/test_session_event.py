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


def test_prune_forgets_delivered_events_past_retention_and_keeps_the_dead_letter(db, settings):
    from datetime import UTC, datetime, timedelta

    from tripleplay import clock
    from tripleplay.webhooks import retention
    from tripleplay.webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event

    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    clock.freeze(now)
    ep = Endpoint.objects.create(url="http://127.0.0.1:9/h", secret_encrypted="x", secret_prefix="whsec_x",
                                 created_at=now, updated_at=now)
    settings.TRIPLEPLAY_WEBHOOK_RETENTION_DAYS = 30
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    cases = {"old-delivered": (old, ["succeeded"]), "old-nobody": (old, []), "old-failed": (old, ["failed"]),
             "old-mixed": (old, ["succeeded", "pending"]), "recent-delivered": (recent, ["succeeded"])}
    for uid, (at, statuses) in cases.items():
        event = Event.objects.create(uid=uid, type="invoice.paid", created_at=at, payload={})
        for n, status in enumerate(statuses):
            endpoint = ep if n == 0 else Endpoint.objects.create(
                url=f"http://127.0.0.1:9/{uid}", secret_encrypted="x", secret_prefix="whsec_x", created_at=now,
                updated_at=now)
            d = Delivery.objects.create(event=event, endpoint=endpoint, status=status, created_at=at, updated_at=at)
            DeliveryAttempt.objects.create(delivery=d, number=1, started_at=at, duration_ms=5, status_code=200)
    assert retention.prune_job() == "pruned 2 delivered events"
    assert sorted(Event.objects.values_list("uid", flat=True)) == ["old-failed", "old-mixed", "recent-delivered"]
    assert Delivery.objects.count() == 4 and DeliveryAttempt.objects.count() == 4
    settings.TRIPLEPLAY_WEBHOOK_RETENTION_DAYS = 0  # keep everything
    assert retention.prune() == 0 and Event.objects.count() == 3
