"""Twilio's status callbacks (D202): the signature per Twilio's documented algorithm (checked against the
worked example on Twilio's webhook security page), unsigned / forged / tampered callbacks refused with 403
and nothing changed, the status moving forward only, an undelivered SMS a dead letter; and end to end: the
simulator process reports each status of a sent SMS to a running tripleplay, signed, as Twilio does."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from tripleplay import clock
from tripleplay.notifications import services, sms
from tripleplay.notifications.models import Notification

PATH = "/api/v1/notifications/twilio/status"
CALLBACK = "https://billing.example.com" + PATH
SID = "SM" + "a1" * 16
TOKEN = "the-auth-token"
ACCOUNT = "AC" + "0" * 32


def test_signature_matches_twilios_worked_example():
    # https://www.twilio.com/docs/usage/webhooks/webhooks-security (auth token 12345)
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
              ("From", "+12349013030"), ("To", "+18005551212")]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sms.signature("12345", url, list(reversed(params))) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert sms.signature_valid("12345", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not sms.signature_valid("12345", url, [*params[:-1], ("To", "+18005551213")], "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not sms.signature_valid("12345", url + "&x=1", params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not sms.signature_valid("12345", url, params, None)
    assert not sms.signature_valid("", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


def test_the_create_answers_status_is_the_first_provider_status():
    assert sms.classify(201, '{"sid": "SM1", "status": "queued"}').provider_status == "queued"
    assert sms.classify(201, '{"sid": "SM1", "status": "accepted"}').provider_status == ""  # not tracked


@pytest.fixture
def sent(make_customer, settings):
    clock.freeze(datetime(2026, 3, 10, 12, tzinfo=UTC))
    settings.TRIPLEPLAY_TWILIO_AUTH_TOKEN, settings.TRIPLEPLAY_TWILIO_ACCOUNT_SID = TOKEN, ACCOUNT
    settings.TRIPLEPLAY_TWILIO_STATUS_CALLBACK = CALLBACK
    c = make_customer(name="Ann", phone="+4915112345678")
    [n] = services.notify(c, "suspended", {"customer_name": "Ann", "reason": "asked to pause"}, key="1")
    Notification.objects.filter(pk=n.pk).update(status="sent", provider_id=SID, sent_at=clock.now())
    return n


def callback(client, status, *, token=TOKEN, signature=None, error_code=None, tamper=None, sid=SID):
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status, "AccountSid": ACCOUNT,
              "From": "+15005550006", "To": "+4915112345678", "ApiVersion": "2010-04-01"}
    if error_code:
        params["ErrorCode"] = error_code
    headers = {}
    if token is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature or sms.signature(token, CALLBACK, list(params.items()))
    if tamper:
        params.update(tamper)
    return client.post(PATH, data=urlencode(params), content_type="application/x-www-form-urlencoded", **headers)


def state(n):
    n.refresh_from_db()
    return n.status, n.provider_status, n.provider_error_code, n.last_error


def test_statuses_move_forward_only(client, sent):
    r = callback(client, "sent")
    assert (r.status_code, r.json()) == (200, {"received": True, "outcome": "updated"})
    assert state(sent) == ("sent", "sent", "", "")
    assert callback(client, "delivered").json()["outcome"] == "updated"
    assert callback(client, "sent").json()["outcome"] == "unchanged"  # late, out of order
    assert callback(client, "undelivered", error_code="30003").json()["outcome"] == "unchanged"  # final already
    assert callback(client, "read").json()["outcome"] == "ignored"
    assert state(sent) == ("sent", "delivered", "", "")
    assert sent.provider_status_at == clock.now()


def test_undelivered_is_a_dead_letter_with_twilios_error_code_and_a_retry_starts_afresh(client, sent, actor):
    assert callback(client, "undelivered", error_code="30003").status_code == 200
    assert state(sent) == ("failed", "undelivered", "30003", "Twilio reports the message undelivered (error 30003)")
    services.retry(actor, sent)
    assert state(sent) == ("pending", "", "", "")
    sent.refresh_from_db()
    assert sent.provider_id == ""
    assert callback(client, "delivered").status_code == 404  # the old attempt's SID no longer names it


@pytest.mark.parametrize("how", ["unsigned", "forged", "tampered", "other_token"])
def test_unsigned_or_forged_callbacks_are_403_and_change_nothing(client, sent, how):
    r = {"unsigned": lambda: callback(client, "undelivered", token=None, error_code="30003"),
         "forged": lambda: callback(client, "undelivered", signature="0/KCTR6DLpKmkAf8muzZqo1nDgQ=", error_code="1"),
         "tampered": lambda: callback(client, "delivered", tamper={"MessageStatus": "undelivered"}),
         "other_token": lambda: callback(client, "undelivered", token="not-the-token")}[how]()
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "twilio_signature_invalid"
    assert state(sent) == ("sent", "", "", "")


def test_an_unknown_message_is_404_and_a_missing_sid_422(client, sent):
    r = callback(client, "delivered", sid="SM" + "f" * 32)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_message")
    r = callback(client, "delivered", sid="")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")
    assert state(sent) == ("sent", "", "", "")


def _wait(condition, seconds=15.0):
    """The simulator reports on its own thread: wait for the outcome, not for a time."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the simulator's status callbacks did not arrive")
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_the_simulator_reports_delivered_and_undelivered_to_a_running_tripleplay(live_server, twilio, settings,
                                                                                   make_customer, templates):
    from tripleplay.notifications.delivery import Deliverer

    settings.TRIPLEPLAY_TWILIO_STATUS_CALLBACK = live_server.url.replace("localhost", "127.0.0.1") + PATH
    c = make_customer(name="Ann", phone="+4915112345678")
    deliverer = Deliverer(seed=1)
    try:
        [first] = services.notify(c, "suspended", {"customer_name": "Ann", "reason": "asked to pause"}, key="1")
        assert deliverer.run_once() == 1
        [msg] = twilio.messages()
        assert msg["status_callback"] == settings.TRIPLEPLAY_TWILIO_STATUS_CALLBACK
        _wait(lambda: len(twilio.callbacks()) == 2)
        assert [(cb["status"], cb["response_status"]) for cb in twilio.callbacks()] == [("sent", 200), ("delivered", 200)]
        first.refresh_from_db()
        assert (first.status, first.provider_id, first.provider_status) == ("sent", msg["sid"], "delivered")

        twilio.set_outcome("undelivered", error_code=30003, delay_seconds=0.05)
        [second] = services.notify(c, "suspended", {"customer_name": "Ann", "reason": "again"}, key="2")
        assert deliverer.run_once() == 1
        _wait(lambda: len(twilio.callbacks()) == 4)
        assert [(cb["status"], cb["response_status"]) for cb in twilio.callbacks()[2:]] == [
            ("sent", 200), ("undelivered", 200)]
        assert state(second) == ("failed", "undelivered", "30003", "Twilio reports the message undelivered (error 30003)")
    finally:
        deliverer.close()
