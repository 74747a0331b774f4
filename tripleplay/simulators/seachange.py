"""Simulated SeaChange subscriber management: the MODELLED SOAP 1.1 API of
tripleplay/iptv/platforms/seachange.py (docs/platforms/seachange.md).

``POST /seachange/SubscriberManagement`` with a SOAP 1.1 envelope: the body is parsed with
tripleplay.core.xml (no DTD, size limit) and its structure checked; anything malformed is a
``soap:Client`` fault and changes nothing. WS-Security UsernameToken credentials (a wrong one is a
``wsse:FailedAuthentication`` fault); the SOAPAction header must name the body's operation; writes
are deduplicated by the ``sm:TransactionId`` header. Every fault is HTTP 500, as SOAP 1.1 requires;
injected errors are ``soap:Server`` faults with HTTP 503.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from lxml import etree

from tripleplay.core.xml import XmlError, parse, to_bytes
from tripleplay.iptv.platforms.base import SubscriberSpec
from tripleplay.iptv.platforms.seachange import (
    CONTENT_TYPE,
    ENDPOINT_PATH,
    OPERATIONS,
    SM_NS,
    SUBSCRIBER_DETAILS,
    WRITE_OPERATIONS,
    body_child,
    envelope,
    fault_document,
    read_entitlements,
    read_state,
    read_subscriber,
    sm,
    soap,
    sub,
    subscriber_element,
    text_of,
    wsse,
)
from tripleplay.simulators.base import Request, Response, Simulator

MAX_PAGE_SIZE = 1000
_DETAILS = tuple(attr for _, attr in SUBSCRIBER_DETAILS)


class Fault(Exception):
    def __init__(self, faultcode: str, error_code: str, message: str, status: int = 500):
        super().__init__(message)
        self.faultcode, self.error_code, self.message, self.status = faultcode, error_code, message, status

    def response(self) -> Response:
        return Response(self.status, fault_document(self.faultcode, self.message, self.error_code), CONTENT_TYPE)


def client_fault(error_code: str, message: str, status: int = 500) -> Fault:
    return Fault("soap:Client", error_code, message, status)


class SeaChangeSimulator(Simulator):
    name = "seachange"
    label = "SeaChange subscriber management (SOAP 1.1; modelled)"
    ppv_style = "xml"  # calls tripleplay's XML PPV API (POST /xml/v1/ppv)

    def fault_response(self) -> Response:
        return Fault("soap:Server", "SERVICE_UNAVAILABLE", "service temporarily unavailable (simulated)", 503).response()

    def handle(self, request: Request) -> Response:
        try:
            return self._handle(request)
        except Fault as fault:
            return fault.response()

    def _handle(self, request: Request) -> Response:
        if request.path.rstrip("/") != ENDPOINT_PATH:
            raise client_fault("UNKNOWN_ENDPOINT", f"no service at {request.path}; use {ENDPOINT_PATH}", 404)
        if request.method != "POST":
            raise client_fault("METHOD_NOT_ALLOWED", f"{request.method} not allowed; POST a SOAP envelope", 405)
        try:
            root = parse(request.body)
        except XmlError as e:
            raise client_fault("MALFORMED_XML", f"{e.code}: {e.message}") from None
        try:
            operation = body_child(root)
        except ValueError as e:
            raise client_fault("INVALID_REQUEST", str(e)) from None
        self._authenticate(root)
        name = etree.QName(operation).localname
        if etree.QName(operation).namespace != SM_NS or name not in OPERATIONS:
            raise client_fault("UNKNOWN_OPERATION", f"unknown operation {operation.tag}")
        action = request.headers.get("soapaction", "").strip().strip('"')
        if action != f"{SM_NS}#{name}":
            raise client_fault("SOAPACTION_MISMATCH", f"SOAPAction {action!r} does not name {name}")
        if name in WRITE_OPERATIONS:
            header = root.find(soap("Header"))
            txid = (header.findtext(sm("TransactionId")) or "").strip() if header is not None else ""
            return self.dedupe(txid or None, lambda: self._answer(name, operation))
        return self._answer(name, operation)

    def _authenticate(self, root: etree._Element) -> None:
        token = root.find(f"{soap('Header')}/{wsse('Security')}/{wsse('UsernameToken')}")
        user = (token.findtext(wsse("Username")) or "") if token is not None else ""
        password = (token.findtext(wsse("Password")) or "") if token is not None else ""
        if not (token is not None and hmac.compare_digest(user.encode(), self.username.encode())
                and hmac.compare_digest(password.encode(), self.password.encode())):
            raise Fault("wsse:FailedAuthentication", "AUTHENTICATION_FAILED",
                        "The security token could not be authenticated or authorized")

    def _answer(self, name: str, operation: etree._Element) -> Response:
        try:
            with self.state.lock:
                answer = getattr(self, f"_op_{name}")(operation)
        except Fault as fault:
            return fault.response()
        except ValueError as e:
            return client_fault("INVALID_REQUEST", f"{name}: {e}").response()
        _, body = envelope()
        body.append(answer)
        return Response(200, to_bytes(body.getroottree().getroot()), CONTENT_TYPE)

    # -- operations (called under the state lock; return the sm:<Operation>Response element) ---------------
    def _op_GetPackageList(self, op) -> etree._Element:  # noqa: N802 (SOAP operation names)
        answer = _response("GetPackageList")
        packages = sub(answer, sm("Packages"))
        for pid, p in sorted(self.state.packages.items()):
            el = sub(packages, sm("Package"))
            sub(el, sm("PackageId"), pid)
            sub(el, sm("Name"), p.get("name") or pid)
            sub(el, sm("PackageType"), "Service" if p.get("kind") == "service" else "Channel")
            if p.get("description"):
                sub(el, sm("Description"), p["description"])
            channels = sub(el, sm("Channels"))
            for channel in p.get("channels") or ():
                sub(channels, sm("ChannelId"), channel)
        return answer

    def _op_GetPpvEventList(self, op) -> etree._Element:  # noqa: N802
        answer = _response("GetPpvEventList")
        events = sub(answer, sm("Events"))
        for eid, e in sorted(self.state.ppv_events.items()):
            el = sub(events, sm("Event"))
            sub(el, sm("EventId"), eid)
            sub(el, sm("Title"), e.get("title") or eid)
            price = sub(el, sm("Price"))
            sub(price, sm("AmountMinor"), str(int(e.get("price_minor") or 0)))
            sub(price, sm("Currency"), e.get("currency") or "USD")
            for key, element in (("starts_at", "StartTime"), ("ends_at", "EndTime")):
                if e.get(key):
                    moment = datetime.fromisoformat(e[key])
                    sub(el, sm(element), (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat())
            if e.get("content_owner"):
                sub(el, sm("ContentProvider"), e["content_owner"])
        return answer

    def _op_CreateSubscriber(self, op) -> etree._Element:  # noqa: N802
        el = op.find(sm("Subscriber"))
        if el is None:
            raise ValueError("CreateSubscriber/Subscriber is missing")
        spec = read_subscriber(el)
        if spec.subscriber_id in self.state.subscribers:
            raise client_fault("SUBSCRIBER_EXISTS", f"Subscriber {spec.subscriber_id} already exists")
        self._check_packages(spec.packages)
        self.state.subscribers[spec.subscriber_id] = {
            "enabled": spec.enabled, "packages": sorted(spec.packages), **{k: getattr(spec, k) for k in _DETAILS}}
        return self._subscriber_answer("CreateSubscriber", spec.subscriber_id)

    def _op_UpdateSubscriberProfile(self, op) -> etree._Element:  # noqa: N802
        sid = text_of(op, "SubscriberId")
        record = self._existing(sid)
        record.update({attr: text_of(op, element, required=False) for element, attr in SUBSCRIBER_DETAILS})
        return self._subscriber_answer("UpdateSubscriberProfile", sid)

    def _op_UpdateSubscriberEntitlements(self, op) -> etree._Element:  # noqa: N802
        sid = text_of(op, "SubscriberId")
        packages = read_entitlements(op)
        record = self._existing(sid)
        self._check_packages(packages)
        record["packages"] = sorted(packages)
        return self._subscriber_answer("UpdateSubscriberEntitlements", sid)

    def _op_SetSubscriberState(self, op) -> etree._Element:  # noqa: N802
        sid = text_of(op, "SubscriberId")
        enabled = read_state(text_of(op, "State"))
        self._existing(sid)["enabled"] = enabled
        return self._subscriber_answer("SetSubscriberState", sid)

    def _op_DeleteSubscriber(self, op) -> etree._Element:  # noqa: N802
        sid = text_of(op, "SubscriberId")
        self._existing(sid)
        del self.state.subscribers[sid]
        answer = _response("DeleteSubscriber")
        sub(answer, sm("SubscriberId"), sid)
        return answer

    def _op_GetSubscriber(self, op) -> etree._Element:  # noqa: N802
        sid = text_of(op, "SubscriberId")
        self._existing(sid)
        return self._subscriber_answer("GetSubscriber", sid)

    def _op_ListSubscribers(self, op) -> etree._Element:  # noqa: N802
        index, size = text_of(op, "PageIndex"), text_of(op, "PageSize")
        if not (index.isdigit() and size.isdigit() and 1 <= int(size) <= MAX_PAGE_SIZE):
            raise ValueError(f"PageIndex must be >= 0 and PageSize 1..{MAX_PAGE_SIZE}")
        ids = sorted(self.state.subscribers)
        page = ids[int(index) * int(size):(int(index) + 1) * int(size)]
        answer = _response("ListSubscribers")
        sub(answer, sm("TotalCount"), str(len(ids)))
        sub(answer, sm("PageIndex"), index)
        subscribers = sub(answer, sm("Subscribers"))
        for sid in page:
            subscribers.append(subscriber_element(self._spec(sid)))
        return answer

    # -- helpers ------------------------------------------------------------------------------------------------
    def _existing(self, sid: str) -> dict:
        record = self.state.subscribers.get(sid)
        if record is None:
            raise client_fault("SUBSCRIBER_NOT_FOUND", f"Subscriber {sid} not found")
        return record

    def _check_packages(self, packages) -> None:
        unknown = self.unknown_packages(packages)
        if unknown:
            raise client_fault("UNKNOWN_PACKAGE", f"Unknown package(s): {', '.join(unknown)}")

    def _spec(self, sid: str) -> SubscriberSpec:
        record = self.state.subscribers[sid]
        return SubscriberSpec(subscriber_id=sid, enabled=bool(record.get("enabled")),
                              packages=frozenset(record.get("packages") or ()),
                              **{k: str(record.get(k) or "") for k in _DETAILS})

    def _subscriber_answer(self, operation: str, sid: str) -> etree._Element:
        answer = _response(operation)
        answer.append(subscriber_element(self._spec(sid)))
        return answer


def _response(operation: str) -> etree._Element:
    return etree.Element(sm(f"{operation}Response"), nsmap={"sm": SM_NS})
