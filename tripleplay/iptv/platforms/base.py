"""The adapter protocol: what tripleplay needs from any IPTV platform, in billing's words.

One module per platform in this package subclasses ``Adapter`` and sets ``kind``; the registry
(``tripleplay.iptv.platforms.registry``) finds it by itself, so adding a platform means adding that
module and its simulator (``tripleplay/simulators/<kind>.py``), nothing else.

Semantics every adapter must keep (they make the worker's retries safe):
- ``create_subscriber`` on a subscriber that already exists raises ``AlreadyExists``;
  ``delete_subscriber`` on one that does not exist raises ``SubscriberNotFound``; the worker treats
  both as "already done".
- ``set_packages`` replaces the whole set (never add/remove deltas): applying it twice is harmless;
  so does ``update_details`` for the subscriber's details (login, device, name, phone).
- Every write takes an ``idempotency_key`` that the adapter sends in the platform's own way (a
  header, a field), so that a platform that dedupes can recognise a retry.
- Errors are classified: ``TransientError`` (timeouts, connection errors, 5xx, 429: retry later)
  or ``PermanentError`` (4xx, validation, authentication: stop and show an operator).
- Every HTTP exchange is recorded (``Adapter.exchanges``) so that a failed command keeps the
  request and the response that failed it. Secrets are never recorded.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

MAX_RECORDED_BODY = 4000


@dataclass(frozen=True)
class PlatformConfig:
    """What an adapter needs to talk to one configured platform."""

    base_url: str
    username: str = ""
    secret: str = ""  # password or API key, decrypted only in memory
    timeout_seconds: float = 10.0
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PackageInfo:
    external_id: str
    name: str
    kind: str = "channel"  # "channel" (channels only) or "service" (may include VOD, nDVR ...)
    description: str = ""
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class PpvEventInfo:
    external_id: str
    title: str
    price_minor: int
    currency: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    content_owner: str = ""


# The subscriber details a platform keeps besides its state and packages (SubscriberSpec field names).
# A change to any of them (a new set-top box, a new login, the customer's name) is provisioned like any
# other change, with ``Adapter.update_details`` (docs/decisions.md D50).
DETAIL_FIELDS = ("login", "device_id", "full_name", "phone")


@dataclass(frozen=True)
class SubscriberSpec:
    """Billing's desired subscriber. ``subscriber_id`` is tripleplay's stable key for the account on
    the platform (it never changes, whatever happens to logins)."""

    subscriber_id: str
    enabled: bool
    packages: frozenset[str]
    login: str = ""
    device_id: str = ""
    full_name: str = ""
    account_number: str = ""
    phone: str = ""


@dataclass(frozen=True)
class SubscriberState:
    """What the platform actually has."""

    subscriber_id: str
    enabled: bool
    packages: frozenset[str]
    raw: dict = field(default_factory=dict, compare=False)


class PlatformError(Exception):
    transient = False

    def __init__(self, message: str, *, status: int | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class TransientError(PlatformError):
    """Worth retrying later: timeout, connection refused or dropped, 5xx, 429."""

    transient = True


class PermanentError(PlatformError):
    """Retrying will not help: bad request, validation, authentication, unknown package."""


class AlreadyExists(PermanentError):
    pass


class SubscriberNotFound(PermanentError):
    pass


class Adapter(ABC):
    """One platform's API, spoken over HTTP with explicit timeouts."""

    kind: str = ""  # registry key, e.g. "ministra"; also the simulator's name
    label: str = ""  # human name, e.g. "Ministra (Infomir Stalker) REST API v1"
    modelled: bool = True  # False only where the wire format follows a public specification
    # Whether the platform itself dedupes writes by idempotency key. Ministra has no such keys: its adapter
    # makes every operation safe to repeat instead (the contract test checks a lost answer either way).
    idempotency_keys: bool = True

    def __init__(self, config: PlatformConfig, *, client: httpx.Client | None = None):
        self.config = config
        self.exchanges: list[dict] = []
        self._client = client or httpx.Client(
            base_url=config.base_url.rstrip("/"),
            timeout=httpx.Timeout(config.timeout_seconds),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- catalog ----------------------------------------------------------------------------------
    @abstractmethod
    def list_packages(self) -> list[PackageInfo]: ...

    def list_ppv_events(self) -> list[PpvEventInfo]:
        return []

    # -- subscribers ------------------------------------------------------------------------------
    @abstractmethod
    def create_subscriber(self, spec: SubscriberSpec, *, idempotency_key: str) -> None: ...

    @abstractmethod
    def set_packages(self, subscriber_id: str, packages: frozenset[str], *, idempotency_key: str) -> None: ...

    @abstractmethod
    def set_enabled(self, subscriber_id: str, enabled: bool, *, idempotency_key: str) -> None: ...

    @abstractmethod
    def update_details(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        """Replace the subscriber's DETAIL_FIELDS with ``spec``'s (an empty value clears a field where the
        platform allows it). State and packages are not touched. SubscriberNotFound if it does not exist."""

    @abstractmethod
    def delete_subscriber(self, subscriber_id: str, *, idempotency_key: str) -> None: ...

    @abstractmethod
    def get_subscriber(self, subscriber_id: str) -> SubscriberState | None: ...

    @abstractmethod
    def list_subscribers(self) -> Iterable[SubscriberState]: ...

    # -- pay-per-view bought outside the platform (the subscriber portal) ------------------------------
    @classmethod
    def grants_ppv_events(cls, options: dict) -> bool:
        """Whether this platform, so configured, can be told to grant a PPV event that tripleplay sold
        (``grant_ppv_event``). The portal offers only such platforms' events (docs/selfcare.md)."""
        return False

    def grant_ppv_event(self, subscriber_id: str, event_id: str, *, purchase_id: str, idempotency_key: str) -> None:
        """Let the subscriber watch the event (already charged by tripleplay). Granting it twice is harmless.
        SubscriberNotFound when the subscriber does not exist (yet)."""
        raise PermanentError(f"{self.kind} cannot grant a PPV event", code="unsupported_operation")

    def health(self) -> dict:
        """A cheap authenticated call; raises PlatformError when the platform is not usable."""
        self.list_packages()
        return {"ok": True}

    # -- HTTP ---------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, content: bytes | None = None, json_body=None,
                headers: dict | None = None, params: dict | None = None, auth=None) -> httpx.Response:
        """Send one request; record it; turn transport failures and 5xx/429 into TransientError.
        4xx responses are returned for the adapter to interpret (it knows the platform's codes)."""
        if json_body is not None:
            content = json.dumps(json_body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        started = time.monotonic()
        record = {"method": method, "path": path, "params": params or {},
                  "request": clip_body(content), "headers": _safe_headers(headers)}
        self.exchanges.append(record)
        try:
            response = self._client.request(method, path, content=content, headers=headers, params=params,
                                            auth=auth)
        except httpx.TimeoutException as e:
            record.update(error=f"timeout: {type(e).__name__}", ms=_ms(started))
            raise TransientError(f"{method} {path}: timed out after {self.config.timeout_seconds}s") from e
        except httpx.TransportError as e:
            record.update(error=f"transport: {type(e).__name__}: {e}", ms=_ms(started))
            raise TransientError(f"{method} {path}: {type(e).__name__}: {e}") from e
        record.update(status=response.status_code, response=clip_body(response.content), ms=_ms(started))
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise TransientError(f"{method} {path}: HTTP {response.status_code}", status=response.status_code)
        return response


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def clip_body(body: bytes | None) -> str:
    if not body:
        return ""
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= MAX_RECORDED_BODY else text[:MAX_RECORDED_BODY] + "...(truncated)"


def _safe_headers(headers: dict | None) -> dict:
    hidden = {"authorization", "x-api-key", "cookie"}
    return {k: ("***" if k.lower() in hidden else v) for k, v in (headers or {}).items()}
