"""Generic XML: tripleplay's own published IPTV provisioning protocol, v1 (not modelled).

Wire format: docs/platforms/generic_xml.md; schema: tripleplay/iptv/schemas/tripleplay-iptv-1.xsd;
build/parse: tripleplay.iptv.xmlproto. One endpoint, ``POST {base_url}/tripleplay-iptv/v1``, HTTP
Basic authentication (sent by httpx's ``auth``, so never in a body and never recorded), the
idempotency key in ``request/@requestId``.

``options``: ``path`` (default ``/tripleplay-iptv/v1``), ``page_size`` for listSubscribers (default 500),
``ppv_grants`` (the operator lets the portal sell this platform's events, D121).

Versions (D170): a request says the revision that added its operation (1.0 for most). Before an
operation a later revision added (updateSubscriber 1.1, grantPpvEvent 1.2), the adapter knows the
platform's revision from its ``pong/@protocolVersion``: cached per endpoint in this process for
``NEGOTIATED_TTL`` seconds, refreshed by every health check of this process and dropped when the
platform refuses such an operation (it may have been downgraded). A platform whose revision lacks
the operation (asked again before refusing: a cached answer may predate an upgrade) gets nothing:
a PermanentError ``unsupported_by_protocol`` ("grantPpvEvent is not supported by protocol 1.1").
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable

import httpx

from tripleplay.core.xml import XmlError
from tripleplay.iptv import xmlproto
from tripleplay.iptv.platforms.base import (
    Adapter,
    AlreadyExists,
    PackageInfo,
    PermanentError,
    PpvEventInfo,
    SubscriberNotFound,
    SubscriberSpec,
    SubscriberState,
    TransientError,
)

MAX_PAGES = 10_000
NEGOTIATED_TTL = 3600.0  # seconds a platform's pong/@protocolVersion is trusted without a new ping

# (base_url, path, username) -> (protocol version, monotonic time read): one entry per platform endpoint
_negotiated: dict[tuple[str, str, str], tuple[str, float]] = {}
_negotiated_lock = threading.Lock()


def forget_negotiated_versions() -> None:
    """Drop every cached platform revision (tests; an operator's "check connection" refreshes one)."""
    with _negotiated_lock:
        _negotiated.clear()


class GenericXmlAdapter(Adapter):
    kind = "generic_xml"
    label = "Generic XML (tripleplay IPTV protocol v1)"
    modelled = False  # tripleplay's own published specification

    @property
    def path(self) -> str:
        return self.config.options.get("path") or xmlproto.ENDPOINT_PATH

    # -- transport ----------------------------------------------------------------------------------------
    def _call(self, operation: str, *, request_id: str | None = None, **arguments) -> xmlproto.ProtocolResponse:
        """One round trip; returns the ok response or raises the classified PlatformError."""
        request_id = request_id or f"read-{uuid.uuid4()}"
        try:
            body = xmlproto.build_request(operation, request_id=request_id, **arguments)
        except XmlError as e:
            raise PermanentError(f"{operation}: request refused before sending: {e.message}", code="invalid_request") from e
        response = self.request("POST", self.path, content=body, auth=httpx.BasicAuth(self.config.username,
                                                                                       self.config.secret),
                                headers={"Content-Type": xmlproto.CONTENT_TYPE, "Accept": "application/xml"})
        try:
            parsed = xmlproto.parse_response(response.content)
        except XmlError as e:
            if response.status_code in (401, 403):
                raise PermanentError(f"{operation}: HTTP {response.status_code}: authentication refused",
                                     status=response.status_code, code="authentication_failed") from e
            raise PermanentError(f"{operation}: HTTP {response.status_code}: not a protocol v1 response ({e.code}: "
                                 f"{e.message})", status=response.status_code, code="invalid_response") from e
        if parsed.error is not None:
            raise _classify(operation, parsed.error, response.status_code)
        if response.status_code != 200:
            raise PermanentError(f"{operation}: HTTP {response.status_code} with an ok body",
                                 status=response.status_code, code="invalid_response")
        return parsed

    # -- catalog --------------------------------------------------------------------------------------------
    def list_packages(self) -> list[PackageInfo]:
        return self._expect(self._call("listPackages"), "packages")

    def list_ppv_events(self) -> list[PpvEventInfo]:
        return self._expect(self._call("listPpvEvents"), "ppv_events")

    # -- subscribers ----------------------------------------------------------------------------------------
    def create_subscriber(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        self._call("createSubscriber", request_id=idempotency_key, subscriber=spec)

    def update_details(self, spec: SubscriberSpec, *, idempotency_key: str) -> None:
        self._versioned_call("updateSubscriber", request_id=idempotency_key, subscriber=spec)

    def set_packages(self, subscriber_id: str, packages: frozenset[str], *, idempotency_key: str) -> None:
        self._call("setPackages", request_id=idempotency_key, subscriber_id=subscriber_id, packages=packages)

    def set_enabled(self, subscriber_id: str, enabled: bool, *, idempotency_key: str) -> None:
        self._call("setEnabled", request_id=idempotency_key, subscriber_id=subscriber_id, enabled=enabled)

    def delete_subscriber(self, subscriber_id: str, *, idempotency_key: str) -> None:
        self._call("deleteSubscriber", request_id=idempotency_key, subscriber_id=subscriber_id)

    @classmethod
    def grants_ppv_events(cls, options: dict) -> bool:
        # grantPpvEvent is revision 1.2 of the protocol: a platform on 1.0 or 1.1 would refuse it, so the
        # operator says the platform implements it (its ping answers protocolVersion 1.2 or later). D121.
        return bool(options.get("ppv_grants"))

    def grant_ppv_event(self, subscriber_id: str, event_id: str, *, purchase_id: str, idempotency_key: str) -> None:
        self._versioned_call("grantPpvEvent", request_id=idempotency_key, subscriber_id=subscriber_id,
                             event_id=event_id, purchase_id=purchase_id)

    def get_subscriber(self, subscriber_id: str) -> SubscriberState | None:
        try:
            response = self._call("getSubscriber", subscriber_id=subscriber_id)
        except SubscriberNotFound:
            return None
        return self._expect(response, "subscriber")

    def list_subscribers(self) -> Iterable[SubscriberState]:
        page_size = int(self.config.options.get("page_size") or 500)
        cursor, seen_cursors = "", set()
        for _ in range(MAX_PAGES):
            response = self._call("listSubscribers", limit=page_size, cursor=cursor)
            yield from self._expect(response, "subscribers")
            cursor = response.next_cursor
            if not cursor:
                return
            if cursor in seen_cursors:
                raise PermanentError(f"listSubscribers: the platform repeated cursor {cursor!r}", code="invalid_response")
            seen_cursors.add(cursor)
        raise PermanentError(f"listSubscribers: more than {MAX_PAGES} pages", code="invalid_response")

    def health(self) -> dict:
        pong = self._call("ping").pong
        if not pong:
            raise PermanentError("ping: the answer has no pong", code="invalid_response")
        version = pong.get("protocolVersion", "")
        self._remember(version)
        return {"ok": True, "protocol_version": version, "platform": pong.get("platform", "")}

    # -- versions -------------------------------------------------------------------------------------------
    @property
    def _endpoint(self) -> tuple[str, str, str]:
        return (self.config.base_url.rstrip("/"), self.path, self.config.username)

    def _remember(self, version: str) -> None:
        with _negotiated_lock:
            _negotiated[self._endpoint] = (version, time.monotonic())

    def protocol_version(self) -> str:
        """The platform's revision (its pong/@protocolVersion): cached, else one ping."""
        return self._protocol_version()[0]

    def _protocol_version(self) -> tuple[str, bool]:
        """(revision, whether it comes from the cache rather than a ping just now)."""
        with _negotiated_lock:
            cached = _negotiated.get(self._endpoint)
        if cached is not None and time.monotonic() - cached[1] < NEGOTIATED_TTL:
            return cached[0], True
        return self.health()["protocol_version"], False

    def _versioned_call(self, operation: str, **arguments) -> xmlproto.ProtocolResponse:
        """An operation a later revision added: sent only to a platform that implements it."""
        needed = xmlproto.operation_version(operation)
        if needed != xmlproto.BASE_VERSION:
            version, cached = self._protocol_version()
            if cached and not xmlproto.supports(version, operation):
                version = self.health()["protocol_version"]  # never refuse on a cached answer: ask again
            if not xmlproto.supports(version, operation):
                raise PermanentError(f"{operation} is not supported by protocol {version} (the platform's "
                                     f"pong/@protocolVersion); it needs {needed}", code="unsupported_by_protocol")
        try:
            return self._call(operation, **arguments)
        except PermanentError as e:
            if e.code in (xmlproto.ErrorCode.INVALID_REQUEST, xmlproto.ErrorCode.UNSUPPORTED_VERSION):
                with _negotiated_lock:  # the platform may have gone back to an older revision: ask again next time
                    _negotiated.pop(self._endpoint, None)
            raise

    @staticmethod
    def _expect(response: xmlproto.ProtocolResponse, payload: str):
        value = getattr(response, payload)
        if value is None:
            raise PermanentError(f"the platform's ok answer has no {payload}", code="invalid_response")
        return value


def _classify(operation: str, error: xmlproto.ProtocolError, status: int):
    message = f"{operation}: {error.code}: {error.message}"
    if error.code == "SUBSCRIBER_EXISTS":
        return AlreadyExists(message, status=status, code=error.code)
    if error.code == "SUBSCRIBER_NOT_FOUND":
        return SubscriberNotFound(message, status=status, code=error.code)
    if error.transient:
        return TransientError(message, status=status, code=error.code)
    return PermanentError(message, status=status, code=error.code)
