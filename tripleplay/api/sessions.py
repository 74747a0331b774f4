"""Voice charging sessions for softswitches (JSON), and the operators' side of them.

A switch authenticates with its own token, ``Authorization: Bearer tps_...`` (issued with
``tripleplay add-softswitch`` or POST /api/v1/softswitches, shown once) and acts only on the calls it
started: another switch's call id is "unknown" (404). The calls (docs/sessions.md):

- POST /voice/authorize: may the caller call the callee now, and for how long? Reserves funds for
  the granted seconds (``max_duration_seconds``: end the call then unless an update extends it).
- POST /voice/update: the call's ELAPSED seconds since it was answered (cumulative): they are
  charged exactly and the next quota is reserved. ``sequence`` (optional, increasing) makes a retry
  replay its first answer; a repeated elapsed time charges nothing anyway.
- POST /voice/terminate: the call's final duration: the rest is charged, the reservation released.

Business answers (granted, refused with a reason code, exhausted, stopped) are 200 with the answer as
the body; an unknown call is 404 and an ended one or a reused id 409, in the same answer shape.
Malformed requests get the API's error shape (422), a missing or wrong token 401.
"""

from __future__ import annotations

from typing import Annotated

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import AuthenticationError
from ninja.responses import Status
from ninja.security import HttpBearer
from pydantic import StrictInt

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.permissions import ADMINS, READERS, require
from tripleplay.api.schemas import PRINTABLE_REF_PATTERN, ErrorOut, IdParam, In
from tripleplay.core.validation import STORABLE_TEXT_PATTERN, unstorable_problem
from tripleplay.sessions import quota, selectors, services
from tripleplay.sessions.services import MAX_SEQUENCE, MAX_USAGE

CallId = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE_REF_PATTERN,
                              description="the switch's id of the call (SIP Call-ID); retries reuse it")]
Number = Annotated[str, Field(min_length=3, max_length=16, pattern=r"^\+?[0-9]{3,15}$",
                              description="E.164 digits, optionally with a leading +")]
Seconds = Annotated[StrictInt, Field(ge=0, le=MAX_USAGE)]
Requested = Annotated[StrictInt, Field(ge=1, le=settings.TRIPLEPLAY_SESSION_MAX_SECONDS,
                                       description="seconds to reserve now (default: the installation's quota; at most "
                                                   "its maximum, TRIPLEPLAY_SESSION_MAX_SECONDS)")]


class SwitchToken(HttpBearer):
    """A softswitch's token; the switch lands on ``request.switch``."""

    def authenticate(self, request: HttpRequest, token: str):
        switch = services.softswitch_for_token(token.strip())
        if switch is None:
            raise AuthenticationError(message="invalid softswitch token")
        request.switch = switch
        return switch


voice = Router(tags=["voice sessions (softswitches)"], auth=SwitchToken())
router = Router(tags=["charging sessions"])


class VoiceAuthorizeIn(In):
    call_id: CallId
    caller: Number = Field(description="the calling subscriber's phone number (its account)")
    callee: Number = Field(description="the number called: its rate is the longest prefix in the rate table")
    requested_seconds: Requested | None = None


class VoiceUpdateIn(In):
    call_id: CallId
    elapsed_seconds: Seconds = Field(description="seconds since the call was answered (cumulative)")
    sequence: Annotated[StrictInt, Field(ge=0, le=MAX_SEQUENCE)] | None = Field(
        None, description="increasing per call; a retry sends the same one")
    requested_seconds: Requested | None = None


class VoiceTerminateIn(In):
    call_id: CallId
    duration_seconds: Seconds = Field(description="the call's whole duration since it was answered")


class CallAnswerOut(Schema):
    result: str = Field(description="granted, refused, exhausted, updated, stopped, ended or error")
    code: str = Field(description="ok, or the reason (insufficient_funds, customer_suspended, no_rate, ...)")
    message: str
    call_id: str | None = None
    session: int | None = Field(None, description="tripleplay's id of the session")
    used_seconds: int | None = None
    granted_seconds: int | None = Field(None, description="seconds the call may last in all, from its answer")
    max_duration_seconds: int | None = Field(None, description="the same: set the call's timer to it")
    remaining_seconds: int | None = None
    final: bool | None = Field(None, description="no more can be reserved after this grant (funds or status)")
    charged_minor: int | None = Field(None, description="charged for this call so far, in minor units")
    currency: str | None = None
    available_minor: int | None = Field(None, description="the customer's available funds after this call")
    status: str | None = Field(None, description="active or ended")


ANSWERS = {200: CallAnswerOut, 401: ErrorOut, 404: CallAnswerOut, 409: CallAnswerOut, 422: ErrorOut}


def _reply(answer: services.Answer) -> Status:
    a = dict(answer)
    body = {"result": a.get("result"), "code": a.get("code"), "message": a.get("message"),
            "call_id": a.get("session_id"), "session": a.get("session"), "used_seconds": a.get("used"),
            "granted_seconds": a.get("granted"), "max_duration_seconds": a.get("granted"),
            "remaining_seconds": a.get("remaining"), "final": a.get("final"), "charged_minor": a.get("charged_minor"),
            "currency": a.get("currency"), "available_minor": a.get("available_minor"), "status": a.get("status")}
    return Status(answer.http_status, body)


@voice.post("/voice/authorize", response=ANSWERS)
def authorize(request, payload: VoiceAuthorizeIn):
    return _reply(services.start(request.switch.client, session_id=payload.call_id, service_type="voice",
                                 subscriber=payload.caller, destination=payload.callee,
                                 requested=payload.requested_seconds))


@voice.post("/voice/update", response=ANSWERS)
def update(request, payload: VoiceUpdateIn):
    return _reply(services.update(request.switch.client, session_id=payload.call_id, used=payload.elapsed_seconds,
                                  sequence=payload.sequence, requested=payload.requested_seconds))


@voice.post("/voice/terminate", response=ANSWERS)
def terminate(request, payload: VoiceTerminateIn):
    return _reply(services.stop(request.switch.client, session_id=payload.call_id, used=payload.duration_seconds))


@voice.get("/voice/calls/{call_id}", response=ANSWERS)
def call(request, call_id: str):
    # A path segment is not parsed by a schema: text no session id can be (too long, a NUL) is unknown.
    unstorable = len(call_id) > 200 or unstorable_problem(call_id) is not None
    s = None if unstorable else selectors.session_of_client(request.switch.client, call_id)
    if s is None:
        return _reply(services.unknown(call_id))
    return _reply(services.describe(s))


# -- operators ----------------------------------------------------------------------------------------


class SoftswitchIn(In):
    code: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9._-]+$")]
    name: Annotated[str, Field(max_length=200, pattern=STORABLE_TEXT_PATTERN)] = ""


class SoftswitchOut(Schema):
    id: int
    code: str
    name: str
    enabled: bool


class SoftswitchCreatedOut(SoftswitchOut):
    token: str = Field(description="the switch's bearer token, shown this once")


class SessionOut(Schema):
    id: int
    client: str
    session_id: str
    service_type: str
    customer_id: int
    account_id: int
    subscriber: str
    destination: str
    unit: str
    used: int = Field(description="usage so far, in the unit (seconds or bytes)")
    granted: int
    charged_minor: int
    currency: str
    started_at: str
    last_seen_at: str


@router.post("/softswitches", response={201: SoftswitchCreatedOut, 401: ErrorOut, 403: ErrorOut, 409: ErrorOut,
                                        422: ErrorOut})
@idempotent_create(secret=True)
def create_softswitch(request, payload: SoftswitchIn):
    actor = require(request, *ADMINS)
    switch, token = services.create_softswitch(actor, code=payload.code, name=payload.name)
    return Status(201, {"id": switch.pk, "code": switch.code, "name": switch.name, "enabled": switch.enabled,
                        "token": token})


class SessionFilter(Schema):
    customer_id: IdParam | None = None
    account_id: IdParam | None = None


@router.get("/sessions/active", response={200: list[SessionOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut})
def active_sessions(request, filters: Query[SessionFilter]):
    require(request, *READERS)
    rows = selectors.active_sessions(customer=filters.customer_id, account=filters.account_id)[:500]
    return [_row(s) for s in selectors.with_windows(rows)]  # what fast windows charged, laid over (D296)


def _row(s) -> dict:
    return {"id": s.pk, "client": s.client, "session_id": s.session_id, "service_type": s.service_type,
            "customer_id": s.customer_id, "account_id": s.account_id, "subscriber": s.subscriber,
            "destination": s.destination, "unit": quota.WIRE_UNIT[s.service_type],
            "used": s.used_wire, "granted": quota.wire_units(s.service_type, s.granted),
            "charged_minor": s.charged_minor, "currency": s.currency, "started_at": s.started_at.isoformat(),
            "last_seen_at": s.last_seen_at.isoformat()}
