"""Idempotency keys: a retried write with the same key returns the first result and writes nothing;
the same key with a different request is a conflict, never a silent reuse."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction

from tripleplay import clock
from tripleplay.core.errors import Conflict, IdempotencyConflict, InvalidInput
from tripleplay.core.models import IdempotentResponse

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


# -- stored answers of the API's creates (D117) -------------------------------------------------------

# A first request still running after this long is taken for dead (its process crashed between its
# write and storing its answer): a retry runs again instead of waiting forever.
ABANDONED_AFTER_SECONDS = 300


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def begin(principal: str, key: str, request_fp: str):
    """Claim ``key`` for ``principal``: ``(row, None)`` when this request is the first (it then calls
    finish or abandon), ``(None, stored)`` when an earlier identical request already answered.
    Raises IdempotencyConflict for another request under the key, Conflict while the first runs."""
    now = clock.now()
    try:
        with transaction.atomic():
            return IdempotentResponse.objects.create(principal=principal, key=key, request_fingerprint=request_fp,
                                                     created_at=now), None
    except IntegrityError:
        pass
    stored = IdempotentResponse.objects.filter(principal=principal, key=key).first()
    if stored is None:  # the first request failed and gave the key back meanwhile
        return begin(principal, key, request_fp)
    replay(stored, request_fp, key)
    if stored.status_code is None:
        if (now - stored.created_at).total_seconds() < ABANDONED_AFTER_SECONDS:
            raise Conflict(f"a request with idempotency key {key!r} is still running; retry later",
                           code="idempotency_key_in_use", details={"idempotency_key": key})
        claimed = IdempotentResponse.objects.filter(pk=stored.pk, status_code__isnull=True,
                                                    created_at=stored.created_at).update(created_at=now)
        if claimed:
            stored.created_at = now
            return stored, None
        return begin(principal, key, request_fp)
    return None, stored


def finish(row, status_code: int, body: str) -> None:
    type(row).objects.filter(pk=row.pk).update(status_code=status_code, body=body)


def abandon(row) -> None:
    """The first request failed and wrote nothing: the key is free for a retry."""
    type(row).objects.filter(pk=row.pk, status_code__isnull=True).delete()


def prune(older_than) -> int:
    """Forget answers older than ``older_than`` (a datetime): their keys may be used again."""
    return IdempotentResponse.objects.filter(created_at__lt=older_than).delete()[0]
