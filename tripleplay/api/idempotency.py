"""``Idempotency-Key`` on the API's creates (D117): optional, and honoured when sent.

``@idempotent_create()`` under a handler's route: the first request with a key runs and its answer
(a 2xx) is stored per caller and key (core.idempotency); a retry with the same method, path and body
gets that answer again, status and body, and writes nothing; the same key with another request is
409 ``idempotency_key_reused``; a retry while the first still runs is 409 ``idempotency_key_in_use``.
A refused first request (4xx) stores nothing, so the key may be used again. Creates that answer a
secret shown once (``secret=True``: tokens, signing secrets) store no body: a retry is 409
``already_created`` with the created id in the details, never the secret again.

The money endpoints (api/ledger.py) keep their own, required, key: the ledger stores it on the entry.
The answer is stored by ``store_answer``, which main.py's URL wrapper calls once ninja has rendered it.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import typing
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from ninja import Header

from tripleplay import clock
from tripleplay.core import idempotency
from tripleplay.core.errors import Conflict, InvalidInput

IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,126}[!-~])?$"  # as api/ledger.py: 1..128 printable ASCII
OPTIONAL_DESCRIPTION = ("optional: one key per intended create; a retry with the same key and body "
                        "returns the first answer and creates nothing")
_PARAM = "idempotency_key"
_ROW = "_tripleplay_idempotent_row"


def _principal(request) -> str | None:
    actor = getattr(request, "actor", None)
    if actor is not None:
        return f"{actor.kind}:{actor.ref}"
    ivr = getattr(request, "ivr_client", None)
    return f"ivr_client:{ivr.pk}" if ivr is not None else None


def _replayed(stored, secret: bool) -> HttpResponse:
    if not secret:
        return HttpResponse(stored.body, status=stored.status_code, content_type="application/json")
    created = json.loads(stored.body or "{}")
    raise Conflict("this create already ran with this idempotency key; its secret is shown only once",
                   code="already_created", details={"idempotency_key": stored.key, **created})


def idempotent_create(*, secret: bool = False):
    def decorate(handler):
        hints = typing.get_type_hints(handler, include_extras=True)
        signature = inspect.signature(handler)
        params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
        params.append(inspect.Parameter(_PARAM, inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                                        default=Header(None, alias="Idempotency-Key",
                                                       description=OPTIONAL_DESCRIPTION)))

        @functools.wraps(handler)
        def run(request, *args, **kwargs):
            key = kwargs.pop(_PARAM, None)
            principal = _principal(request)
            if key is None or principal is None:
                return handler(request, *args, **kwargs)
            if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
                raise InvalidInput("the Idempotency-Key header must be 1..128 printable ASCII characters",
                                   code="invalid_idempotency_key", details={"field": "Idempotency-Key"})
            fp = idempotency.request_fingerprint(request.method, request.get_full_path(), request.body)
            row, stored = idempotency.begin(principal, key, fp)
            if stored is not None:
                return _replayed(stored, secret)
            try:
                result = handler(request, *args, **kwargs)
            except BaseException:
                idempotency.abandon(row)
                raise
            setattr(request, _ROW, (row, secret))
            return result

        run.__signature__ = signature.replace(parameters=params)
        run.__annotations__ = {**hints, _PARAM: str | None}
        return run

    return decorate


def store_answer(request, response) -> None:
    """After ninja rendered the first answer: keep a 2xx, give the key back otherwise."""
    claimed = getattr(request, _ROW, None)
    if claimed is None:
        return
    row, secret = claimed
    if not 200 <= response.status_code < 300:
        idempotency.abandon(row)
        return
    body = response.content.decode()
    if secret:
        created = json.loads(body)
        body = json.dumps({"id": created["id"]} if isinstance(created, dict) and "id" in created else {})
    idempotency.finish(row, response.status_code, body)


def storing_answers(view):
    """Wrap a URL's view so that an idempotent create's first answer is stored once rendered."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        store_answer(request, response)
        return response

    return wrapped


def prune_job() -> str:
    """Forget the answers older than TRIPLEPLAY_IDEMPOTENCY_KEY_HOURS: their keys may be used again."""
    hours = settings.TRIPLEPLAY_IDEMPOTENCY_KEY_HOURS
    return f"forgot {idempotency.prune(clock.now() - timedelta(hours=hours))} idempotency keys"
