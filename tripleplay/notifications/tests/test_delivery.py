"""Delivery to real processes: SMS to the Twilio simulator (its wire format, its validation), e-mail
through Django's backend; retry with backoff on 5xx and 429, dead letter on 4xx, an unknown outcome
(timeout) never sent twice automatically, and an operator's retry."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core import mail

from tripleplay import clock
from tripleplay.core.errors import Conflict
from tripleplay.customers.models import Customer
from tripleplay.notifications import services
from tripleplay.notifications.delivery import Deliverer
from tripleplay.notifications.models import Notification
from tripleplay.notifications.policy import RetryPolicy
from tripleplay.notifications.sms import TwilioSms

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _at():
    clock.freeze(T)


def suspend(actor, customer, reason="asked to pause"):
    from tripleplay.customers.services import change_customer_status

    change_customer_status(actor, customer, "suspended", reason=reason)


def state(n: Notification) -> tuple:
    n.refresh_from_db()
    return n.status, n.attempts, n.last_error


def test_worker_delivers_sms_to_the_simulator_and_email_through_the_backend(twilio, actor, make_customer):
    c = make_customer(name="Ann", email="ann@example.com", phone="+4915112345678")
    suspend(actor, c)
    d = Deliverer(seed=1)
    try:
        assert d.run_once() == 2
        assert d.run_once() == 0  # nothing twice
    finally:
        d.close()
    (msg,) = twilio.messages()
    assert (msg["to"], msg["from"], msg["body"], msg["status"], msg["num_segments"]) == (
        "+4915112345678", "+15005550006", "Your service has been suspended (asked to pause).", "queued", "1")
    sms = Notification.objects.get(channel="sms")
    assert (sms.status, sms.attempts, sms.provider_id, sms.sent_at) == ("sent", 1, msg["sid"], T)
    assert msg["sid"].startswith("SM") and len(msg["sid"]) == 34
    (email,) = mail.outbox
    assert (email.to, email.subject, email.body) == (
        ["ann@example.com"], "Your service is suspended", "Dear Ann,\n\nyour service has been suspended (asked to pause).\n")
    assert Notification.objects.get(channel="email").provider_id == email.extra_headers["Message-ID"]


def test_5xx_and_429_are_retried_with_backoff_then_sent(twilio, actor, make_customer):
    c = make_customer(name="Ann", phone="+4915112345678")
    suspend(actor, c)
    (n,) = Notification.objects.all()
    twilio.set_faults(status=503, count=1)
    d = Deliverer(retry=RetryPolicy(base_seconds=30, max_attempts=5), seed=1)
    assert d.run_once() == 1
    assert state(n) == ("pending", 1, "HTTP 503 Twilio 20503: Service Unavailable")
    wait = n.next_attempt_at - T
    assert timedelta(seconds=15) <= wait < timedelta(seconds=45)
    assert d.run_once() == 0  # not due yet
    twilio.set_faults(status=429, count=1)
    clock.freeze(n.next_attempt_at)
    assert d.run_once() == 1
    assert state(n) == ("pending", 2, "HTTP 429 Twilio 20429: Too Many Requests")
    clock.freeze(n.next_attempt_at)
    assert d.run_once() == 1
    assert state(n) == ("sent", 3, "")
    assert len(twilio.messages()) == 1 and twilio.requests() == 3
    d.close()


def test_retries_exhausted_are_a_dead_letter(twilio, actor, make_customer):
    c = make_customer(name="Ann", phone="+4915112345678")
    suspend(actor, c)
    (n,) = Notification.objects.all()
    twilio.set_faults(status=500, count=10)
    d = Deliverer(retry=RetryPolicy(base_seconds=1, max_attempts=2), seed=1)
    d.run_once()
    clock.freeze(T + timedelta(minutes=5))
    d.run_once()
    assert state(n) == ("failed", 2, "gave up after 2 attempts: HTTP 500 Twilio 20500: Service Unavailable")
    d.close()


def test_4xx_is_a_dead_letter_and_an_operator_retry_sends_it(twilio, actor, make_customer):
    c = make_customer(name="Ann")
    # A number stored before phones were checked for E.164 (D203): Twilio refuses it (21211).
    Customer.objects.filter(pk=c.pk).update(phone="015112345678")
    c.refresh_from_db()
    suspend(actor, c)
    (n,) = Notification.objects.all()
    d = Deliverer(seed=1)
    assert d.run_once() == 1
    assert state(n) == ("failed", 1, "HTTP 400 Twilio 21211: Invalid 'To' Phone Number: 015112345678")
    assert d.run_once() == 0 and twilio.messages() == []
    Notification.objects.filter(pk=n.pk).update(recipient="+4915112345678")  # the operator fixed the address
    services.retry(actor, n)
    with pytest.raises(Conflict):
        services.retry(actor, n)  # pending now: nothing to retry
    assert d.run_once() == 1
    assert state(n)[0] == "sent" and [m["to"] for m in twilio.messages()] == ["+4915112345678"]
    d.close()


def test_wrong_credentials_are_permanent(twilio, actor, make_customer, settings):
    settings.TRIPLEPLAY_TWILIO_AUTH_TOKEN = "wrong"
    c = make_customer(name="Ann", phone="+4915112345678")
    suspend(actor, c)
    (n,) = Notification.objects.all()
    d = Deliverer(seed=1)
    d.run_once()
    assert state(n) == ("failed", 1, "HTTP 401 Twilio 20003: Authenticate")
    d.close()


def test_a_timeout_is_an_unknown_outcome_not_sent_again(twilio, actor, make_customer, settings):
    settings.TRIPLEPLAY_SMS_TIMEOUT_SECONDS = 0.5
    c = make_customer(name="Ann", phone="+4915112345678")
    suspend(actor, c)
    (n,) = Notification.objects.all()
    twilio.set_faults(delay_seconds=1.5)
    d = Deliverer(seed=1)
    d.run_once()
    status, attempts, error = state(n)
    assert (status, attempts) == ("failed", 1)
    assert error.startswith("outcome unknown, not sent again automatically: ReadTimeout")
    d.close()


def test_a_connection_refused_is_transient(actor, make_customer, settings):
    from tripleplay.notifications.tests.conftest import free_port

    settings.TRIPLEPLAY_TWILIO_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.TRIPLEPLAY_TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    c = make_customer(name="Ann", phone="+4915112345678")
    suspend(actor, c)
    (n,) = Notification.objects.all()
    d = Deliverer(seed=1)
    d.run_once()
    assert state(n)[:2] == ("pending", 1) and state(n)[2].startswith("ConnectError")
    d.close()


def test_a_worker_that_died_mid_call_leaves_a_failed_unknown_outcome(actor, make_customer):
    c = make_customer(name="Ann", phone="+4915112345678")
    suspend(actor, c)
    (n,) = Notification.objects.all()
    dead = Deliverer(name="dead", lease_seconds=60)
    assert [x.pk for x in dead.claim()] == [n.pk]
    assert state(n)[:2] == ("sending", 1)
    clock.freeze(T + timedelta(minutes=2))
    other = Deliverer(name="other", sms=TwilioSms(api_base="http://127.0.0.1:9", account_sid="AC1", auth_token="x",
                                                  sender="+1"))
    assert other.run_once() == 0
    assert state(n)[0] == "failed" and "outcome unknown" in state(n)[2]
    other.close()


def test_no_sms_provider_configured_fails_visibly(actor, make_customer, settings):
    settings.TRIPLEPLAY_TWILIO_ACCOUNT_SID = ""
    c = make_customer(name="Ann", phone="+4915112345678")
    suspend(actor, c)
    (n,) = Notification.objects.all()
    Deliverer().run_once()
    assert state(n) == ("failed", 1, "no SMS provider configured (TRIPLEPLAY_TWILIO_ACCOUNT_SID)")


def test_backoff_policy_doubles_and_is_capped():
    p, rng = RetryPolicy(base_seconds=10, cap_seconds=35, max_attempts=3), random.Random(0)
    assert [10 * 0.5 <= p.delay(1, rng).total_seconds() < 10 * 1.5, 20 * 0.5 <= p.delay(2, rng).total_seconds() < 30,
            17.5 <= p.delay(5, rng).total_seconds() < 52.5] == [True, True, True]
    assert (p.gives_up(2), p.gives_up(3)) == (False, True)


# -- the simulator speaks Twilio ---------------------------------------------------------------------------
def _post(sim, data, user=None, token=None, account=None):
    account = account or sim.account_sid
    auth = base64.b64encode(f"{user or sim.account_sid}:{token or sim.auth_token}".encode()).decode()
    return httpx.post(f"{sim.url}/2010-04-01/Accounts/{account}/Messages.json", data=data,
                      headers={"Authorization": f"Basic {auth}"}, timeout=5, trust_env=False)


def test_simulator_validates_like_twilio(twilio):
    ok = {"To": "+4915112345678", "From": "+15005550006", "Body": "hi"}
    r = _post(twilio, ok)
    assert r.status_code == 201 and r.json()["status"] == "queued" and r.json()["direction"] == "outbound-api"
    cases = [
        ({**ok, "To": ""}, None, 400, 21604), ({**ok, "To": "4915112345678"}, None, 400, 21211),
        ({**ok, "From": ""}, None, 400, 21603), ({**ok, "Body": ""}, None, 400, 21602),
        ({**ok, "Body": "x" * 1601}, None, 400, 21617), ({**ok, "To": "+15005550006"}, None, 400, 21266),
        ({**ok, "StatusCallback": "ftp://x"}, None, 400, 21609), (ok, "wrong", 401, 20003)]
    for data, token, status, code in cases:
        r = _post(twilio, data, token=token)
        assert (r.status_code, r.json()["code"], r.json()["status"]) == (status, code, status), data
        assert r.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert _post(twilio, ok, account="AC" + "9" * 32).status_code == 401  # another account's path
    assert _post(twilio, {**ok, "Body": "x" * 1600}).json()["num_segments"] == "11"  # 1600 / 153
    assert _post(twilio, {**ok, "Body": "ü" * 70 + "€"}).json()["num_segments"] == "1"  # GSM: € is an escape (2)
    assert _post(twilio, {**ok, "Body": "Привет" * 12}).json()["num_segments"] == "2"  # UCS-2: 72 > 70
    sid = r = _post(twilio, ok).json()["sid"]
    auth = base64.b64encode(f"{twilio.account_sid}:{twilio.auth_token}".encode()).decode()
    got = httpx.get(f"{twilio.url}/2010-04-01/Accounts/{twilio.account_sid}/Messages/{sid}.json",
                    headers={"Authorization": f"Basic {auth}"}, trust_env=False)
    assert got.status_code == 200 and got.json()["sid"] == sid
