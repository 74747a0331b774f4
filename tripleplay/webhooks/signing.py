"""Standard Webhooks signatures (https://www.standardwebhooks.com/, the specification's "Signature
scheme"), written here and checked against the reference `standardwebhooks` package in the tests.

- secret: ``whsec_`` + base64 of 24 random bytes; the HMAC key is the decoded bytes;
- signed content: ``{webhook-id}.{webhook-timestamp}.{body}``, timestamp in integer seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>``, one per secret, separated by spaces (rotation).
Pure functions: no database, no clock (the caller gives the time)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def key_of(secret: str) -> bytes:
    raw = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key_of(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one delivery attempt (``timestamp``: Unix seconds), signed with every secret
    in ``secrets_``."""
    ts = int(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(signature(s, msg_id, ts, body) for s in secrets_),
    }


def body(event_type: str, timestamp: str, data: dict) -> bytes:
    """The request body: the specification's recommended envelope, compact and key-sorted so that
    every attempt of a message sends the same bytes."""
    return json.dumps({"type": event_type, "timestamp": timestamp, "data": data}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()
