"""Generic XML: tripleplay's own published IPTV provisioning protocol, v1 (not modelled).

Wire format: docs/platforms/generic_xml.md; schema: tripleplay/iptv/schemas/tripleplay-iptv-1.xsd;
build/parse: tripleplay.iptv.xmlproto. One endpoint, ``POST {base_url}/tripleplay-iptv/v1``, HTTP
Basic authentication (sent by httpx's ``auth``, so never in a body and never recorded), the
idempotency key in ``request/@requestId``.

``options``: ``path`` (default ``/tripleplay-iptv/v1``), ``page_size`` for listSubscribers (default 500).
"""

from __future__ import annotations

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
        self._call("updateSubscriber", request_id=idempotency_key, subscriber=spec)

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
        self._call("grantPpvEvent", request_id=idempotency_key, subscriber_id=subscriber_id, event_id=event_id,
                   purchase_id=purchase_id, version=xmlproto.GRANT_REVISION)

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
        return {"ok": True, "protocol_version": pong.get("protocolVersion", ""), "platform": pong.get("platform", "")}

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
