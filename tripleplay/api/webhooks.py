"""Webhooks: endpoints (admins: register, change, rotate the secret; the secret is shown once), the events
and deliveries with their attempts (every role reads), replays (admin and finance). docs/webhooks.md."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import StrictBool, StrictInt

from tripleplay.api.idempotency import idempotent_create
from tripleplay.api.pagination import BoundedPagination, ChangingCursorPagination
from tripleplay.api.permissions import ADMINS, OPERATIONS, READERS, require
from tripleplay.api.schemas import HttpUrl, Id, IdParam, In, Text
from tripleplay.webhooks import selectors, services
from tripleplay.webhooks.policy import ALL, EVENT_TYPES

router = Router(tags=["webhooks"])

EventType = Literal[EVENT_TYPES + (ALL,)]  # type: ignore[valid-type]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES) + 1,
                                              description=f"event types, or [\"{ALL}\"] for all")]


class EndpointIn(In):
    url: HttpUrl
    description: Annotated[Text, Field(max_length=200)] = ""
    event_types: EventTypes = [ALL]
    enabled: StrictBool = True
    timeout_seconds: Annotated[StrictInt, Field(ge=1, le=services.MAX_TIMEOUT_SECONDS)] = 10


class EndpointPatch(In):
    url: HttpUrl | None = None
    description: Annotated[Text, Field(max_length=200)] | None = None
    event_types: EventTypes | None = None
    enabled: StrictBool | None = None
    timeout_seconds: Annotated[StrictInt, Field(ge=1, le=services.MAX_TIMEOUT_SECONDS)] | None = None


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    timeout_seconds: int
    secret_prefix: str = Field(description="the secret's first characters, to tell secrets apart")
    previous_secret_valid_until: datetime | None = Field(
        None, description="after a rotation, the previous secret also signs until then")
    created_at: datetime
    updated_at: datetime


class EndpointSecretOut(EndpointOut):
    secret: str = Field(description="whsec_...: shown once, never retrievable again: store it now")


class WebhookEventOut(Schema):
    id: int
    uid: str = Field(description="the webhook-id header of every delivery of this event")
    type: str
    created_at: datetime
    payload: dict


class DeliveryOut(Schema):
    id: int
    event_id: int
    event_uid: str
    event_type: str
    endpoint_id: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    finished_at: datetime | None
    updated_at: datetime = Field(description="the time of the last change (updated_after filters by it)")


class DeliveryAttemptOut(Schema):
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str
    response_excerpt: str


class DeliveryDetailOut(DeliveryOut):
    attempt_log: list[DeliveryAttemptOut]


class ReplayEventIn(In):
    endpoint_id: Id | None = Field(None, description="only this endpoint (default: every enabled one that wants it)")


class DeliveryFilter(Schema):
    endpoint_id: IdParam | None = None
    event_id: IdParam | None = None
    status: Literal["pending", "succeeded", "failed"] | None = None


class EventFilter(Schema):
    type: EventType | None = None  # type: ignore[valid-type]


def _endpoint(ep) -> dict:
    return {"id": ep.pk, "url": ep.url, "description": ep.description, "event_types": ep.event_types,
            "enabled": ep.enabled, "timeout_seconds": ep.timeout_seconds, "secret_prefix": ep.secret_prefix,
            "previous_secret_valid_until": ep.previous_secret_expires_at if ep.previous_secret_encrypted else None,
            "created_at": ep.created_at, "updated_at": ep.updated_at}


def _delivery(d) -> dict:
    return {"id": d.pk, "event_id": d.event_id, "event_uid": d.event.uid, "event_type": d.event.type,
            "endpoint_id": d.endpoint_id, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at, "last_status_code": d.last_status_code, "last_error": d.last_error,
            "created_at": d.created_at, "finished_at": d.finished_at, "updated_at": d.updated_at}


@router.get("/webhooks/event-types", response=list[str])
def event_types(request):
    """The event types an endpoint can subscribe to (docs/webhooks.md has their payloads)."""
    require(request, *READERS)
    return list(EVENT_TYPES)


@router.get("/webhooks/endpoints", response=list[EndpointOut])
@paginate(BoundedPagination)
def list_endpoints(request):
    require(request, *READERS)
    return [_endpoint(ep) for ep in selectors.endpoints()]


@router.post("/webhooks/endpoints", response={201: EndpointSecretOut})
@idempotent_create(secret=True)
def create_endpoint(request, payload: EndpointIn):
    """Register a receiver. The answer carries its signing secret, once."""
    actor = require(request, *ADMINS)
    made = services.create_endpoint(actor, **payload.model_dump())
    return {**_endpoint(made.endpoint), "secret": made.secret}


@router.get("/webhooks/endpoints/{endpoint_id}", response=EndpointOut)
def get_endpoint(request, endpoint_id: IdParam):
    require(request, *READERS)
    return _endpoint(selectors.endpoint(endpoint_id))


@router.patch("/webhooks/endpoints/{endpoint_id}", response=EndpointOut)
def update_endpoint(request, endpoint_id: IdParam, payload: EndpointPatch):
    """Change what is sent: a disabled endpoint gets no new events and its pending deliveries wait."""
    actor = require(request, *ADMINS)
    changes = {k: v for k, v in payload.changes().items() if v is not None}
    return _endpoint(services.update_endpoint(actor, selectors.endpoint(endpoint_id), **changes))


@router.post("/webhooks/endpoints/{endpoint_id}/rotate-secret", response=EndpointSecretOut)
def rotate_secret(request, endpoint_id: IdParam):
    """A new secret, shown once; the previous one keeps signing beside it for 24 hours."""
    actor = require(request, *ADMINS)
    made = services.rotate_secret(actor, selectors.endpoint(endpoint_id))
    return {**_endpoint(made.endpoint), "secret": made.secret}


@router.get("/webhooks/events", response=list[WebhookEventOut])
@paginate(BoundedPagination)
def list_events(request, filters: Query[EventFilter]):
    """Newest first."""
    require(request, *READERS)
    return selectors.events(type=filters.type)


@router.get("/webhooks/events/{event_id}", response=WebhookEventOut)
def get_event(request, event_id: IdParam):
    require(request, *READERS)
    return selectors.event(event_id)


@router.post("/webhooks/events/{event_id}/replay", response=list[DeliveryOut])
def replay_event(request, event_id: IdParam, payload: ReplayEventIn):
    """Send an event again (same webhook-id) to one endpoint or to every enabled endpoint that wants it."""
    actor = require(request, *OPERATIONS)
    event = selectors.event(event_id)
    endpoint = selectors.endpoint(payload.endpoint_id) if payload.endpoint_id else None
    return [_delivery(d) for d in services.replay_event(actor, event, endpoint=endpoint)]


@router.get("/webhooks/deliveries", response=list[DeliveryOut])
@paginate(ChangingCursorPagination, created="created_at", render=_delivery)
def list_deliveries(request, filters: Query[DeliveryFilter]):
    """Newest first; failed ones are the dead letters."""
    require(request, *READERS)
    return selectors.deliveries(endpoint_id=filters.endpoint_id, event_id=filters.event_id, status=filters.status)


@router.get("/webhooks/deliveries/{delivery_id}", response=DeliveryDetailOut)
def get_delivery(request, delivery_id: IdParam):
    """With every attempt: when, how long, the status and an excerpt of the answer."""
    require(request, *READERS)
    d = selectors.delivery(delivery_id)
    return {**_delivery(d), "attempt_log": list(selectors.attempts(d))}


@router.post("/webhooks/deliveries/{delivery_id}/replay", response=DeliveryOut)
def replay_delivery(request, delivery_id: IdParam):
    """Send a finished (failed or succeeded) delivery again, with the same webhook-id."""
    actor = require(request, *OPERATIONS)
    d = services.replay_delivery(actor, selectors.delivery(delivery_id))
    return _delivery(selectors.delivery(d.pk))
