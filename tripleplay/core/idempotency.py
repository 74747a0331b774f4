"""Idempotency keys: a retried write with the same key returns the first result and writes nothing;
the same key with a different request is a conflict, never a silent reuse."""

from __future__ import annotations

import hashlib
import json

from tripleplay.core.errors import IdempotencyConflict, InvalidInput

MAX_KEY_LENGTH = 128


def check_key(key: str | None) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput("an idempotency key is required", code="idempotency_key_required")
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"idempotency key must be 1..{MAX_KEY_LENGTH} printable characters",
                           code="invalid_idempotency_key")
    return key


def fingerprint(**fields) -> str:
    """A stable digest of what a request asked for, to tell a true retry from a reused key."""
    text = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def replay(row, request_fingerprint: str, key: str):
    """Return ``row`` (the first result for ``key``) if the request matches, else raise."""
    if row is not None and row.request_fingerprint != request_fingerprint:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used for a different request",
            details={"idempotency_key": key},
        )
    return row
