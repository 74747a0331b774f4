"""Our signatures, checked by the reference implementation (the `standardwebhooks` package)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tripleplay.webhooks import signing


def test_secret_format():
    s = signing.new_secret()
    assert s.startswith("whsec_") and len(base64.b64decode(s[6:])) == 24
    assert s != signing.new_secret()


# The specification's example secret, and the reference package's own signature of the same content.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize("msg_id, body", [
    ("msg_p5jXN8AQM9LWM0D4loKWxJek", b'{"test": 2432232314}'),
    ("msg_1", b""),
    ("msg_\u00e9", '{"name":"Zo\u00eb"}'.encode()),
])
def test_signature_equals_the_reference_packages(msg_id, body):
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert signing.signature(SECRET, msg_id, int(at.timestamp()), body) == Webhook(SECRET).sign(msg_id, at, body)


def test_headers_verify_with_the_reference_and_tampering_fails():
    body = signing.body("payment.recorded", "2026-03-10T12:00:00Z", {"amount_minor": 1250})
    headers = signing.headers([SECRET], "msg_1", int(time.time()), body)
    assert Webhook(SECRET).verify(body, headers) == {"type": "payment.recorded", "timestamp": "2026-03-10T12:00:00Z",
                                                     "data": {"amount_minor": 1250}}
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"1250", b"1251"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # too old: the reference allows 5 minutes
        Webhook(SECRET).verify(body, signing.headers([SECRET], "msg_1", int(time.time()) - 600, body))


def test_two_secrets_during_a_rotation_each_verify():
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"x":1}'
    headers = signing.headers([new, old], "msg_2", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for s in (old, new):
        Webhook(s).verify(body, headers)


def test_body_is_stable_bytes():
    a = signing.body("t", "ts", {"b": 1, "a": [1, 2]})
    assert a == b'{"data":{"a":[1,2],"b":1},"timestamp":"ts","type":"t"}'
