"""Every write of the webhooks app that an operator causes: endpoints (create, change, rotate the
secret) and replays. Each owns its transaction and writes its audit event. The events themselves are
written by ``events.emit`` inside the transactions of the changes they report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput
from tripleplay.core.validation import text
from tripleplay.iptv.secrets import decrypt, encrypt, rotate_rows
from tripleplay.webhooks import policy, signing
from tripleplay.webhooks.models import Delivery, DeliveryStatus, Endpoint, Event

ROTATION_GRACE = timedelta(hours=24)  # the previous secret also signs for this long after a rotation
MAX_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: Endpoint
    secret: str  # shown once: to the caller who created or rotated it


def _url(value) -> str:
    url = text(value, "url", required=True, max_length=500)
    problem = policy.url_problem(url)
    if problem:
        raise InvalidInput(f"url {problem}", details={"field": "url"})
    return url


def _types(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise InvalidInput("event_types must be a list of event types", details={"field": "event_types"})
    problem = policy.event_types_problem(value)
    if problem:
        raise InvalidInput(f"event_types {problem}",
                           details={"field": "event_types", "allowed": [policy.ALL, *policy.EVENT_TYPES]})
    return policy.normalized_types(value)


def _timeout(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TIMEOUT_SECONDS:
        raise InvalidInput(f"timeout_seconds must be an integer from 1 to {MAX_TIMEOUT_SECONDS}",
                           details={"field": "timeout_seconds"})
    return value


def create_endpoint(actor: Actor, *, url: str, description: str = "", event_types: list[str] | None = None,
                    enabled: bool = True, timeout_seconds: int = 10) -> EndpointWithSecret:
    url, description = _url(url), text(description, "description", max_length=200)
    types, timeout = _types([policy.ALL] if event_types is None else event_types), _timeout(timeout_seconds)
    secret = signing.new_secret()
    now = clock.now()
    with transaction.atomic():
        ep = Endpoint.objects.create(url=url, description=description, event_types=types, enabled=bool(enabled),
                                     secret_encrypted=encrypt(secret), secret_prefix=secret[:10],
                                     timeout_seconds=timeout, created_at=now, updated_at=now)
        record(actor, "webhook_endpoint.created", ep, url=url, event_types=types, enabled=ep.enabled)
    return EndpointWithSecret(ep, secret)


_UNSET = object()


def update_endpoint(actor: Actor, endpoint: Endpoint, *, url=_UNSET, description=_UNSET, event_types=_UNSET,
                    enabled=_UNSET, timeout_seconds=_UNSET) -> Endpoint:
    """Change what is given. Disabling stops deliveries at once (pending ones wait, new events are not
    written for it); enabling again resumes the pending ones."""
    changes: dict = {}
    if url is not _UNSET:
        changes["url"] = _url(url)
    if description is not _UNSET:
        changes["description"] = text(description, "description", max_length=200)
    if event_types is not _UNSET:
        changes["event_types"] = _types(event_types)
    if enabled is not _UNSET:
        if not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true or false", details={"field": "enabled"})
        changes["enabled"] = enabled
    if timeout_seconds is not _UNSET:
        changes["timeout_seconds"] = _timeout(timeout_seconds)
    with transaction.atomic():
        ep = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        for field, value in changes.items():
            setattr(ep, field, value)
        ep.updated_at = clock.now()
        ep.save()
        record(actor, "webhook_endpoint.updated", ep, **changes)
    return ep


def rotate_secret(actor: Actor, endpoint: Endpoint) -> EndpointWithSecret:
    """A new secret, shown once. The previous one keeps signing beside it (two signatures in the
    header) for ROTATION_GRACE, so that a receiver can switch without losing a delivery."""
    secret = signing.new_secret()
    with transaction.atomic():
        ep = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        now = clock.now()
        ep.previous_secret_encrypted, ep.previous_secret_expires_at = ep.secret_encrypted, now + ROTATION_GRACE
        ep.secret_encrypted, ep.secret_prefix, ep.updated_at = encrypt(secret), secret[:10], now
        ep.save()
        record(actor, "webhook_endpoint.secret_rotated", ep, previous_valid_until=ep.previous_secret_expires_at.isoformat())
    return EndpointWithSecret(ep, secret)


def signing_secrets(endpoint: Endpoint) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one during its grace."""
    secrets_ = [decrypt(endpoint.secret_encrypted)]
    if endpoint.previous_secret_encrypted and endpoint.previous_secret_expires_at and \
            endpoint.previous_secret_expires_at > clock.now():
        secrets_.append(decrypt(endpoint.previous_secret_encrypted))
    return secrets_


def replay_delivery(actor: Actor, delivery: Delivery) -> Delivery:
    """Send a delivery again (failed or succeeded): pending now, with a fresh count of attempts; the
    log of earlier attempts stays. The message keeps its webhook-id, so a receiver can tell a replay."""
    with transaction.atomic():
        d = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if d.status == DeliveryStatus.PENDING:
            raise Conflict("the delivery is already waiting to be sent", code="delivery_pending")
        now = clock.now()
        Delivery.objects.filter(pk=d.pk).update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now,
                                                lease_owner="", lease_until=None, finished_at=None, updated_at=now)
        record(actor, "webhook_delivery.replayed", d, event=d.event_id, endpoint=d.endpoint_id, was=d.status)
        d.refresh_from_db()
    return d


def replay_event(actor: Actor, event: Event, *, endpoint: Endpoint | None = None) -> list[Delivery]:
    """Send an event again to ``endpoint`` or to every enabled endpoint that wants its type now: a new
    delivery where it had none, the existing one set pending again otherwise (unless already pending)."""
    with transaction.atomic():
        if endpoint is not None:
            targets = [endpoint]
            if not endpoint.enabled:
                raise Conflict("the endpoint is disabled", code="endpoint_disabled")
        else:
            targets = [e for e in Endpoint.objects.filter(enabled=True).order_by("id") if e.wants(event.type)]
        now = clock.now()
        out = []
        for ep in targets:
            d, created = Delivery.objects.select_for_update().get_or_create(
                event=event, endpoint=ep, defaults={"next_attempt_at": now, "created_at": now, "updated_at": now})
            if not created and d.status != DeliveryStatus.PENDING:
                Delivery.objects.filter(pk=d.pk).update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now,
                                                        lease_owner="", lease_until=None, finished_at=None, updated_at=now)
                d.refresh_from_db()
            out.append(d)
        record(actor, "webhook_event.replayed", event, endpoints=[d.endpoint_id for d in out])
    return out


def rotate_stored_secrets(actor: Actor) -> int:
    """Every endpoint's signing secrets (current and previous) encrypted again with the first credentials
    key (iptv/secrets.py, `tripleplay rotate-credentials`), in the caller's transaction; the secrets
    themselves do not change (receivers notice nothing). An audit event per endpoint."""
    try:
        endpoints = rotate_rows(Endpoint.objects.all(), ("secret_encrypted", "previous_secret_encrypted"))
    except ValueError as e:
        raise Conflict(str(e), code="credentials_unreadable") from None
    for endpoint in endpoints:
        record(actor, "webhook.endpoint_secret_reencrypted", endpoint)
    return len(endpoints)

