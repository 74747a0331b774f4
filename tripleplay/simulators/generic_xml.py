"""Simulated platform speaking tripleplay's IPTV provisioning protocol v1 (``urn:tripleplay:iptv:1``).

The reference behaviour of a platform implementing docs/platforms/generic_xml.md: one endpoint
``POST /tripleplay-iptv/v1``; HTTP Basic credentials; every request parsed safely and validated
against the XSD (malformed, DTD, invalid: 400 INVALID_REQUEST, nothing applied); writes deduplicated
by ``requestId``; unknown packages refused with nothing changed; ``listSubscribers`` paged by an
opaque cursor; ``grantPpvEvent`` (revision 1.2) adds the event to the subscriber's ``ppv_events``
(shown by GET /_sim/state), an unknown event refused with UNKNOWN_PPV_EVENT.

An older platform on request (``--protocol-version 1.1`` or ``PUT /_sim/protocol {"version": "1.1"}``;
``GET /_sim/protocol``; ``POST /_sim/reset`` goes back to the start-up revision): its pong says that
revision and it validates requests against that revision's schema (``xmlproto.schema_for``), so a
construct a later revision added is refused as an XSD-validating older peer refuses it: 400
INVALID_REQUEST (``xml_schema_violation``), nothing applied.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime

from tripleplay.core.xml import XmlError
from tripleplay.iptv import xmlproto
from tripleplay.iptv.platforms.base import PackageInfo, PpvEventInfo, SubscriberSpec
from tripleplay.simulators.base import Request, Response, Simulator

DEFAULT_PAGE = 100
_DETAILS = ("login", "device_id", "full_name", "account_number", "phone")


def _xml(status: int, body: bytes, headers: dict | None = None) -> Response:
    return Response(status, body, xmlproto.CONTENT_TYPE, headers or {})


def _error(code: str, message: str, request_id: str | None = None, headers: dict | None = None) -> Response:
    return _xml(xmlproto.http_status(code), xmlproto.build_error(code, message, request_id=request_id), headers)


class GenericXmlSimulator(Simulator):
    name = "generic_xml"
    label = "Generic XML platform (tripleplay IPTV protocol v1)"
    ppv_style = "xml"  # calls tripleplay's XML PPV API (POST /xml/v1/ppv)

    def __init__(self, *args, protocol_version: str = xmlproto.CURRENT_VERSION, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_version = self.protocol_version = _checked_version(protocol_version)

    def control(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        if parts == ["protocol"] and request.method == "GET":
            return Response.json(200, {"version": self.protocol_version})
        if parts == ["protocol"] and request.method == "PUT":
            try:
                self.protocol_version = _checked_version((request.json() or {}).get("version"))
            except (ValueError, AttributeError) as e:  # JSONDecodeError included
                return Response.json(400, {"error": str(e)})
            return Response.json(200, {"version": self.protocol_version})
        if parts == ["reset"] and request.method == "POST":
            self.protocol_version = self.start_version
        return super().control(request)

    def fault_response(self) -> Response:
        return _error("UNAVAILABLE", "service unavailable (simulated)")

    # -- request handling -----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != xmlproto.ENDPOINT_PATH:
            return _error("INVALID_REQUEST", f"no endpoint {request.path}; POST {xmlproto.ENDPOINT_PATH}")
        if request.method != "POST":
            return _xml(405, xmlproto.build_error("INVALID_REQUEST", f"{request.method} not allowed; use POST"),
                        {"Allow": "POST"})
        if not self._authenticated(request.headers.get("authorization", "")):
            return _error("AUTHENTICATION_FAILED", "wrong or missing HTTP Basic credentials",
                          headers={"WWW-Authenticate": 'Basic realm="tripleplay-iptv"'})
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in ("application/xml", "text/xml"):
            return _error("UNSUPPORTED_MEDIA_TYPE", f"Content-Type {media_type or '(none)'}: send application/xml")
        try:
            req = xmlproto.parse_request(request.body, revision=self.protocol_version)
        except XmlError as e:
            code = "UNSUPPORTED_VERSION" if e.code == "unsupported_version" else "INVALID_REQUEST"
            return _error(code, f"{e.code}: {e.message}")
        if req.is_write:
            return self.dedupe(req.request_id, lambda: self._apply(req))
        return self._read(req)

    def _authenticated(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return bool(sep) and hmac.compare_digest(user.encode(), self.username.encode()) and hmac.compare_digest(
            password.encode(), self.password.encode())

    # -- reads -------------------------------------------------------------------------------------------------
    def _read(self, req: xmlproto.ProtocolRequest) -> Response:
        st, rid = self.state, req.request_id
        with st.lock:
            if req.operation == "ping":
                now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
                return _xml(200, xmlproto.build_ok(rid, pong={"protocolVersion": self.protocol_version,
                                                              "platform": "tripleplay generic_xml simulator",
                                                              "time": now}))
            if req.operation == "listPackages":
                return _xml(200, xmlproto.build_ok(rid, packages=[_package(p) for _, p in sorted(st.packages.items())]))
            if req.operation == "listPpvEvents":
                return _xml(200, xmlproto.build_ok(rid, ppv_events=[_event(e) for _, e in sorted(st.ppv_events.items())]))
            if req.operation == "getSubscriber":
                sub = st.subscribers.get(req.subscriber_id)
                if sub is None:
                    return _error("SUBSCRIBER_NOT_FOUND", f"no subscriber {req.subscriber_id}", rid)
                return _xml(200, xmlproto.build_ok(rid, subscriber=_spec(req.subscriber_id, sub)))
            # listSubscribers: ids in order, the cursor is the last id of the previous page
            limit = req.limit or DEFAULT_PAGE
            ids = [sid for sid in sorted(st.subscribers) if not req.cursor or sid > req.cursor]
            page, more = ids[:limit], len(ids) > limit
            return _xml(200, xmlproto.build_ok(rid, subscribers=[_spec(sid, st.subscribers[sid]) for sid in page],
                                               next_cursor=page[-1] if more else ""))

    # -- writes (run once per requestId, under the state lock) ---------------------------------------------------
    def _apply(self, req: xmlproto.ProtocolRequest) -> Response:
        st, rid, sid = self.state, req.request_id, req.subscriber_id
        with st.lock:
            if req.operation == "createSubscriber":
                if sid in st.subscribers:
                    return _error("SUBSCRIBER_EXISTS", f"subscriber {sid} already exists", rid)
                unknown = self.unknown_packages(req.subscriber.packages)
                if unknown:
                    return _error("UNKNOWN_PACKAGE", f"unknown package(s): {', '.join(unknown)}", rid)
                spec = req.subscriber
                st.subscribers[sid] = {"enabled": spec.enabled, "packages": sorted(spec.packages),
                                       **{k: getattr(spec, k) for k in _DETAILS}}
                return _xml(200, xmlproto.build_ok(rid, subscriber=_spec(sid, st.subscribers[sid])))
            sub = st.subscribers.get(sid)
            if sub is None:
                return _error("SUBSCRIBER_NOT_FOUND", f"no subscriber {sid}", rid)
            if req.operation == "deleteSubscriber":
                del st.subscribers[sid]
                return _xml(200, xmlproto.build_ok(rid))
            if req.operation == "grantPpvEvent":
                if req.event_id not in st.ppv_events:
                    return _error("UNKNOWN_PPV_EVENT", f"no PPV event {req.event_id}", rid)
                granted = sub.setdefault("ppv_events", [])
                if req.event_id not in granted:
                    granted.append(req.event_id)
                    sub.setdefault("ppv_grants", []).append({"event_id": req.event_id, "purchase_id": req.purchase_id})
                return _xml(200, xmlproto.build_ok(rid, subscriber=_spec(sid, sub)))
            if req.operation == "updateSubscriber":
                sub.update({k: getattr(req.subscriber, k) for k in _DETAILS})
            elif req.operation == "setPackages":
                unknown = self.unknown_packages(req.packages)
                if unknown:
                    return _error("UNKNOWN_PACKAGE", f"unknown package(s): {', '.join(unknown)}", rid)
                sub["packages"] = sorted(req.packages)
            else:  # setEnabled
                sub["enabled"] = req.enabled
            return _xml(200, xmlproto.build_ok(rid, subscriber=_spec(sid, sub)))


def _checked_version(version) -> str:
    known = [r.version for r in xmlproto.REVISIONS]
    if version not in known:
        raise ValueError(f"version must be one of {', '.join(known)}")
    return version


def _package(p: dict) -> PackageInfo:
    return PackageInfo(external_id=p["external_id"], name=p.get("name") or p["external_id"],
                       kind=p.get("kind") or "channel", description=p.get("description") or "",
                       channels=tuple(p.get("channels") or ()))


def _event(e: dict) -> PpvEventInfo:
    def when(value):
        if not value:
            return None
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return PpvEventInfo(external_id=e["external_id"], title=e.get("title") or e["external_id"],
                        price_minor=int(e.get("price_minor") or 0), currency=e.get("currency") or "USD",
                        starts_at=when(e.get("starts_at")), ends_at=when(e.get("ends_at")),
                        content_owner=e.get("content_owner") or "")


def _spec(sid: str, sub: dict) -> SubscriberSpec:
    return SubscriberSpec(subscriber_id=sid, enabled=bool(sub.get("enabled")), packages=frozenset(sub.get("packages") or ()),
                          **{k: str(sub.get(k) or "") for k in _DETAILS})
