"""/metrics for the outboxes added after provisioning (the RADIUS Disconnect commands, the webhook
deliveries) from a known state, exactly; and the charging sessions' decisions after known calls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tripleplay import clock
from tripleplay.core.errors import InvalidInput
from tripleplay.customers.models import Account
from tripleplay.radius.models import NasClient, NasCommand, NetworkSession
from tripleplay.sessions import services as sessions
from tripleplay.webhooks.models import Delivery, Endpoint, Event

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    return response.content.decode()


def _lines(body: str, metric: str) -> list[str]:
    return sorted(line for line in body.splitlines() if line.startswith(metric + "{") or line.startswith(metric + " "))


def test_radius_commands_and_webhook_deliveries_by_status_with_the_oldest_pending(db, client, make_customer):
    clock.freeze(T0)
    customer = make_customer()
    account = Account.objects.create(customer=customer, status_changed_at=T0, created_at=T0)
    nas = NasClient.objects.create(name="edge-1", address="192.0.2.1", secret_encrypted="x", vendor="mikrotik",
                                   created_at=T0, updated_at=T0)
    for n, (status, age) in enumerate([("pending", 45), ("pending", 5), ("done", 100), ("failed", 300)]):
        session = NetworkSession.objects.create(nas=nas, acct_session_id=f"a{n}", username="ada", account=account,
                                                customer=customer, started_at=T0, updated_at=T0)
        NasCommand.objects.create(session=session, nas=nas, customer=customer, reason="test", status=status,
                                  actor_name="t", created_at=T0 - timedelta(seconds=age),
                                  updated_at=T0 - timedelta(seconds=age))
    endpoint = Endpoint.objects.create(url="http://127.0.0.1:9/hook", secret_encrypted="x", secret_prefix="whsec_x",
                                       created_at=T0, updated_at=T0)
    for n, (status, age) in enumerate([("pending", 120), ("succeeded", 60), ("succeeded", 30), ("failed", 600)]):
        event = Event.objects.create(uid=f"msg_{n}", type="customer.created", created_at=T0, payload={})
        Delivery.objects.create(event=event, endpoint=endpoint, status=status, created_at=T0 - timedelta(seconds=age),
                                updated_at=T0 - timedelta(seconds=age))

    body = _scrape(client)
    assert _lines(body, "tripleplay_radius_commands") == [
        'tripleplay_radius_commands{status="done"} 1.0',
        'tripleplay_radius_commands{status="failed"} 1.0',
        'tripleplay_radius_commands{status="pending"} 2.0',
    ]
    assert _lines(body, "tripleplay_radius_commands_oldest_pending_age_seconds") == [
        "tripleplay_radius_commands_oldest_pending_age_seconds 45.0"]
    assert _lines(body, "tripleplay_webhook_deliveries") == [
        'tripleplay_webhook_deliveries{status="failed"} 1.0',
        'tripleplay_webhook_deliveries{status="pending"} 1.0',
        'tripleplay_webhook_deliveries{status="succeeded"} 2.0',
    ]
    assert _lines(body, "tripleplay_webhook_deliveries_oldest_pending_age_seconds") == [
        "tripleplay_webhook_deliveries_oldest_pending_age_seconds 120.0"]

    NasCommand.objects.filter(status="pending").update(status="done")
    Delivery.objects.filter(status="pending").update(status="succeeded")
    body = _scrape(client)
    assert _lines(body, "tripleplay_radius_commands_oldest_pending_age_seconds") == [
        "tripleplay_radius_commands_oldest_pending_age_seconds 0.0"]
    assert _lines(body, "tripleplay_webhook_deliveries_oldest_pending_age_seconds") == [
        "tripleplay_webhook_deliveries_oldest_pending_age_seconds 0.0"]


def _value(body: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", body, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_charging_session_decisions_by_result_with_latency(db, client):
    keys = {
        ("start", "refused"): 'tripleplay_session_decisions_total{call="start",result="refused"}',
        ("start", "error"): 'tripleplay_session_decisions_total{call="start",result="error"}',
        ("stop", "error"): 'tripleplay_session_decisions_total{call="stop",result="error"}',
        ("start", "count"): 'tripleplay_session_decision_seconds_count{call="start"}',
        ("stop", "count"): 'tripleplay_session_decision_seconds_count{call="stop"}',
    }
    before = _scrape(client)
    answer = sessions.start("nas-1", session_id="s1", service_type="data", subscriber="nobody")
    assert answer["result"] == "refused"
    with pytest.raises(InvalidInput):
        sessions.start("nas-1", session_id="s2", service_type="fax", subscriber="nobody")
    assert sessions.stop("nas-1", session_id="unknown", used=0)["result"] == "error"
    after = _scrape(client)
    assert {k: _value(after, s) - _value(before, s) for k, s in keys.items()} == {
        ("start", "refused"): 1, ("start", "error"): 1, ("stop", "error"): 1, ("start", "count"): 2,
        ("stop", "count"): 1}
