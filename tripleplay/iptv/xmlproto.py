"""tripleplay IPTV provisioning protocol v1 (namespace ``urn:tripleplay:iptv:1``): build and parse.

tripleplay's own published XML protocol (spec: docs/platforms/generic_xml.md; schema:
``XSD_PATH``). Shared by the generic XML adapter (builds requests, parses responses), its simulator
(parses requests, builds responses) and tripleplay's inbound catalog endpoint (``parse_catalog``).

Every parse goes through ``tripleplay.core.xml`` (no DTD, size limit) and is validated against the
XSD; anything wrong raises ``tripleplay.core.xml.XmlError`` with a stable code.

Versions (D170): ``REVISIONS`` is the one list of the 1.x revisions and what each added (marked
``v:since`` in the XSD; ``schema_for`` derives an older revision's schema); ``ErrorCode`` is the one
list of error codes. Tests hold the XSD and docs/platforms/generic_xml.md to both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path

from lxml import etree

from tripleplay.core.xml import DEFAULT_MAX_BYTES, XmlError, parse, parse_valid, schema, to_bytes, validate
from tripleplay.iptv.platforms.base import PackageInfo, PpvEventInfo, SubscriberSpec, SubscriberState

NS = "urn:tripleplay:iptv:1"
NS_PREFIX = "urn:tripleplay:iptv:"  # any version's namespace starts so (v2 would be urn:tripleplay:iptv:2)
# The namespace of the schema's own annotations: ``v:since="1.2"`` on every construct a revision added.
VERSIONS_NS = "urn:tripleplay:iptv:versions"
XSD_PATH = str(Path(__file__).resolve().parent / "schemas" / "tripleplay-iptv-1.xsd")
ENDPOINT_PATH = "/tripleplay-iptv/v1"
CONTENT_TYPE = "application/xml; charset=utf-8"


# -- revisions: what each 1.x revision added (the one registry; the XSD's v:since marks, the doc's
# table and the adapter's negotiation are checked against it) ---------------------------------------------


@dataclass(frozen=True)
class Revision:
    version: str
    # the constructs it added, as ("element" | "attribute" | "errorCode", name): each is marked
    # v:since="<version>" in the XSD (a test compares both ways)
    additions: tuple[tuple[str, str], ...]
    summary: str


REVISIONS: tuple[Revision, ...] = (
    Revision("1.0", (), "the first publication: ping, catalog reads, subscriber writes and reads, the catalog push"),
    Revision("1.1", (("element", "importReport"), ("element", "updateSubscriber")),
             "tripleplay answers a pushed catalog with importReport; updateSubscriber (account details)"),
    Revision("1.2", (("element", "grantPpvEvent"), ("errorCode", "UNKNOWN_PPV_EVENT")),
             "grantPpvEvent (a PPV event sold by tripleplay), error code UNKNOWN_PPV_EVENT"),
    Revision("1.3", (("element", "orderRequest"), ("element", "orderResponse")),
             "orderRequest / orderResponse: the platform orders an add-on, its removal or a main product "
             "change from the TV screen, or asks a balance (POST /xml/v1/orders, docs/orders.md)"),
)
BASE_VERSION = REVISIONS[0].version
CURRENT_VERSION = REVISIONS[-1].version  # the highest revision this tripleplay implements
PROTOCOL_VERSION = BASE_VERSION  # what a document that uses only 1.0 constructs says it uses
SINCE: dict[tuple[str, str], str] = {addition: r.version for r in REVISIONS for addition in r.additions}


def version_key(version: str) -> tuple[int, int]:
    """``"1.10"`` -> (1, 10): revisions compare as numbers, not as text."""
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def operation_version(operation: str) -> str:
    """The revision that added ``operation`` (what its request says in ``version``)."""
    return SINCE.get(("element", operation), BASE_VERSION)


def supports(platform_version: str, element: str) -> bool:
    """Whether a platform of revision ``platform_version`` (its pong, or its catalog's version)
    knows the operation or element ``element``."""
    return version_key(platform_version) >= version_key(operation_version(element))


READ_OPERATIONS = frozenset({"ping", "listPackages", "listPpvEvents", "getSubscriber", "listSubscribers"})
WRITE_OPERATIONS = frozenset({"createSubscriber", "updateSubscriber", "setPackages", "setEnabled", "deleteSubscriber",
                              "grantPpvEvent"})
GRANT_REVISION = operation_version("grantPpvEvent")  # "1.2" (D121)
# -- 1.3: orders from the TV screen (D183) ------------------------------------------------------------
# The revision that added orderRequest / orderResponse, which a platform POSTs to tripleplay
# (tripleplay/orders/xmlproto.py builds and parses them; docs/orders.md). No operation of the request
# document above changes: a platform that places no orders never sees 1.3.
ORDERS_REVISION = operation_version("orderRequest")  # "1.3" (D183)
# -- end of 1.3 ---------------------------------------------------------------------------------------
OPERATIONS = READ_OPERATIONS | WRITE_OPERATIONS


class ErrorCode(StrEnum):
    """The protocol's error codes: the one list. The XSD's KnownErrorCode enumeration and the table of
    docs/platforms/generic_xml.md section 4 are checked against it (code, HTTP status, class, revision).
    For these codes the class is authoritative; for any other (a platform's own) code, the error's
    ``transient`` attribute decides."""

    def __new__(cls, code: str, http_status: int, transient: bool, since: str = "1.0"):
        member = str.__new__(cls, code)
        member._value_ = code
        member.http_status, member.transient, member.since = http_status, transient, since
        return member

    INVALID_REQUEST = "INVALID_REQUEST", 400, False
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION", 400, False
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE", 415, False
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED", 401, False
    ACCESS_DENIED = "ACCESS_DENIED", 403, False
    SUBSCRIBER_EXISTS = "SUBSCRIBER_EXISTS", 409, False
    SUBSCRIBER_NOT_FOUND = "SUBSCRIBER_NOT_FOUND", 404, False
    UNKNOWN_PACKAGE = "UNKNOWN_PACKAGE", 422, False
    UNKNOWN_PPV_EVENT = "UNKNOWN_PPV_EVENT", 422, False, "1.2"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED", 422, False
    BUSY = "BUSY", 409, True
    RATE_LIMITED = "RATE_LIMITED", 429, True
    INTERNAL_ERROR = "INTERNAL_ERROR", 500, True
    UNAVAILABLE = "UNAVAILABLE", 503, True


@cache
def schema_for(version: str) -> etree.XMLSchema:
    """The XSD as a platform of revision ``version`` has it: every construct a later revision added
    (marked ``v:since``) taken out. What an XSD-validating older peer validates against: the
    simulator's older-platform mode uses it, and the docs test checks samples marked for a revision."""
    if version_key(version) >= version_key(CURRENT_VERSION):
        return schema(XSD_PATH)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    doc = etree.parse(XSD_PATH, parser=parser)
    since = f"{{{VERSIONS_NS}}}since"
    for el in list(doc.iter()):
        added = el.get(since) if isinstance(el.tag, str) else None
        if added and version_key(added) > version_key(version):
            el.getparent().remove(el)
    return etree.XMLSchema(doc)


# code -> (HTTP status, transient), derived from ErrorCode for the callers that read a mapping
ERROR_CODES: dict[str, tuple[int, bool]] = {c.value: (c.http_status, c.transient) for c in ErrorCode}
TRANSIENT_CODES = frozenset(c.value for c in ErrorCode if c.transient)

_SUBSCRIBER_DETAILS = (("login", "login"), ("deviceId", "device_id"), ("fullName", "full_name"),
                       ("accountNumber", "account_number"), ("phone", "phone"))


def q(name: str) -> str:
    """The qualified (Clark) name of a protocol element: ``{urn:tripleplay:iptv:1}name``."""
    return f"{{{NS}}}{name}"


def is_transient(code: str, transient_attribute: bool) -> bool:
    if code in ERROR_CODES:
        return ERROR_CODES[code][1]
    return transient_attribute


def http_status(code: str, transient: bool = False) -> int:
    if code in ERROR_CODES:
        return ERROR_CODES[code][0]
    return 503 if transient else 400


# -- parsed documents ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolRequest:
    """One parsed request document (what a platform implementing the protocol receives)."""

    operation: str
    request_id: str
    version: str
    subscriber: SubscriberSpec | None = None  # createSubscriber
    subscriber_id: str = ""  # createSubscriber (its subscriber's id) and every subscriber operation
    packages: frozenset[str] | None = None  # setPackages
    enabled: bool | None = None  # setEnabled
    limit: int | None = None  # listSubscribers
    cursor: str = ""  # listSubscribers
    event_id: str = ""  # grantPpvEvent
    purchase_id: str = ""  # grantPpvEvent

    @property
    def is_write(self) -> bool:
        return self.operation in WRITE_OPERATIONS


@dataclass(frozen=True)
class ProtocolError:
    code: str
    message: str
    transient: bool


@dataclass(frozen=True)
class ProtocolResponse:
    version: str
    request_id: str = ""
    error: ProtocolError | None = None
    packages: list[PackageInfo] | None = None
    ppv_events: list[PpvEventInfo] | None = None
    subscriber: SubscriberState | None = None
    subscribers: list[SubscriberState] | None = None
    next_cursor: str = ""
    pong: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


# -- small helpers --------------------------------------------------------------------------------------


def _el(parent: etree._Element | None, name: str, text: str | None = None, **attrs) -> etree._Element:
    clean = {k: v for k, v in attrs.items() if v is not None}
    el = etree.Element(q(name), clean, nsmap={None: NS}) if parent is None else etree.SubElement(parent, q(name), clean)
    if text is not None:
        el.text = text
    return el


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _parse_bool(value: str | None) -> bool:
    return (value or "").strip() in ("true", "1")


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.isoformat().replace("+00:00", "Z")


def _parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.strip())


def _text(el: etree._Element, name: str) -> str:
    child = el.find(q(name))
    return (child.text or "") if child is not None else ""


def _package_ids(parent: etree._Element) -> frozenset[str]:
    packages = parent.find(q("packages"))
    return frozenset(p.get("id") for p in packages.iterfind(q("package"))) if packages is not None else frozenset()


def _add_package_refs(parent: etree._Element, packages: Iterable[str]) -> None:
    refs = _el(parent, "packages")
    for package_id in sorted(packages):
        _el(refs, "package", id=package_id)


def _add_subscriber(parent: etree._Element, spec: SubscriberSpec) -> etree._Element:
    el = _el(parent, "subscriber", id=spec.subscriber_id, enabled=_bool(spec.enabled))
    for element, attr in _SUBSCRIBER_DETAILS:
        value = getattr(spec, attr)
        if value:
            _el(el, element, value)
    _add_package_refs(el, spec.packages)
    return el


def _read_subscriber_spec(el: etree._Element) -> SubscriberSpec:
    details = {attr: _text(el, element) for element, attr in _SUBSCRIBER_DETAILS}
    return SubscriberSpec(subscriber_id=el.get("id"), enabled=_parse_bool(el.get("enabled")),
                          packages=_package_ids(el), **details)


def _read_subscriber_state(el: etree._Element) -> SubscriberState:
    spec = _read_subscriber_spec(el)
    raw = {attr: getattr(spec, attr) for _, attr in _SUBSCRIBER_DETAILS if getattr(spec, attr)}
    return SubscriberState(subscriber_id=spec.subscriber_id, enabled=spec.enabled, packages=spec.packages, raw=raw)


def _add_packages(parent: etree._Element, packages: Iterable[PackageInfo]) -> None:
    lst = _el(parent, "packages")
    for p in packages:
        el = _el(lst, "package", id=p.external_id, kind=p.kind)
        _el(el, "name", p.name)
        if p.description:
            _el(el, "description", p.description)
        if p.channels:
            channels = _el(el, "channels")
            for channel in p.channels:
                _el(channels, "channel", id=channel)


def _read_packages(lst: etree._Element) -> list[PackageInfo]:
    out = []
    for el in lst.iterfind(q("package")):
        channels = el.find(q("channels"))
        out.append(PackageInfo(
            external_id=el.get("id"), name=_text(el, "name"), kind=el.get("kind"), description=_text(el, "description"),
            channels=tuple(c.get("id") for c in channels.iterfind(q("channel"))) if channels is not None else ()))
    return out


def _add_ppv_events(parent: etree._Element, events: Iterable[PpvEventInfo]) -> None:
    lst = _el(parent, "ppvEvents")
    for e in events:
        el = _el(lst, "ppvEvent", id=e.external_id)
        _el(el, "title", e.title)
        _el(el, "price", str(e.price_minor), currency=e.currency)
        if e.starts_at:
            _el(el, "startsAt", _timestamp(e.starts_at))
        if e.ends_at:
            _el(el, "endsAt", _timestamp(e.ends_at))
        if e.content_owner:
            _el(el, "contentOwner", e.content_owner)


def _read_ppv_events(lst: etree._Element) -> list[PpvEventInfo]:
    out = []
    for el in lst.iterfind(q("ppvEvent")):
        price = el.find(q("price"))
        starts, ends = el.find(q("startsAt")), el.find(q("endsAt"))
        out.append(PpvEventInfo(
            external_id=el.get("id"), title=_text(el, "title"), price_minor=int(price.text.strip()),
            currency=price.get("currency"),
            starts_at=_parse_timestamp(starts.text) if starts is not None else None,
            ends_at=_parse_timestamp(ends.text) if ends is not None else None,
            content_owner=_text(el, "contentOwner")))
    return out


# -- requests (tripleplay -> platform) -------------------------------------------------------------------


def build_request(operation: str, *, request_id: str, subscriber: SubscriberSpec | None = None,
                  subscriber_id: str = "", packages: Iterable[str] | None = None, enabled: bool | None = None,
                  limit: int | None = None, cursor: str = "", event_id: str = "", purchase_id: str = "",
                  version: str | None = None) -> bytes:
    """One request document; ``version`` defaults to the revision that added the operation (1.0 for
    most). Raises ValueError for a missing argument and XmlError when a value does not fit the
    schema (an id with white space, a text too long), before anything is sent."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    version = version or operation_version(operation)
    root = _el(None, "request", version=version, requestId=request_id)
    if operation == "createSubscriber":
        if subscriber is None:
            raise ValueError("createSubscriber needs subscriber=")
        _add_subscriber(_el(root, operation), subscriber)
    elif operation == "updateSubscriber":
        if subscriber is None:
            raise ValueError("updateSubscriber needs subscriber=")
        op = _el(root, operation, subscriberId=subscriber.subscriber_id)
        for element, attr in _SUBSCRIBER_DETAILS:
            if getattr(subscriber, attr):
                _el(op, element, getattr(subscriber, attr))
    elif operation == "setPackages":
        if packages is None:
            raise ValueError("setPackages needs packages=")
        _add_package_refs(_el(root, operation, subscriberId=subscriber_id), packages)
    elif operation == "setEnabled":
        if enabled is None:
            raise ValueError("setEnabled needs enabled=")
        _el(root, operation, subscriberId=subscriber_id, enabled=_bool(enabled))
    elif operation in ("deleteSubscriber", "getSubscriber"):
        _el(root, operation, subscriberId=subscriber_id)
    elif operation == "grantPpvEvent":
        if not event_id or not purchase_id:
            raise ValueError("grantPpvEvent needs event_id= and purchase_id=")
        _el(root, operation, subscriberId=subscriber_id, eventId=event_id, purchaseId=purchase_id)
    elif operation == "listSubscribers":
        _el(root, operation, limit=str(limit) if limit is not None else None, cursor=cursor or None)
    else:
        _el(root, operation)
    validate(root, XSD_PATH)
    return to_bytes(root)


def parse_request(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, revision: str = CURRENT_VERSION) -> ProtocolRequest:
    """Parse and validate a request document against the XSD of ``revision`` (a platform implementing
    an older revision refuses what later ones added). XmlError codes: those of
    tripleplay.core.xml.parse, ``unsupported_version`` (another protocol namespace) and
    ``xml_schema_violation``."""
    root = parse(data, max_bytes=max_bytes)
    namespace = etree.QName(root).namespace or ""
    if namespace != NS and namespace.startswith(NS_PREFIX):
        raise XmlError("unsupported_version", f"protocol namespace {namespace} is not supported; this is {NS}")
    validate(root, schema_for(revision))
    op = root[0]
    name = etree.QName(op).localname
    common = {"operation": name, "request_id": root.get("requestId"), "version": root.get("version")}
    if name == "createSubscriber":
        spec = _read_subscriber_spec(op.find(q("subscriber")))
        return ProtocolRequest(**common, subscriber=spec, subscriber_id=spec.subscriber_id)
    if name == "updateSubscriber":
        spec = SubscriberSpec(subscriber_id=op.get("subscriberId"), enabled=True, packages=frozenset(),
                              **{attr: _text(op, element) for element, attr in _SUBSCRIBER_DETAILS})
        return ProtocolRequest(**common, subscriber=spec, subscriber_id=spec.subscriber_id)
    if name == "setPackages":
        return ProtocolRequest(**common, subscriber_id=op.get("subscriberId"), packages=_package_ids(op))
    if name == "setEnabled":
        return ProtocolRequest(**common, subscriber_id=op.get("subscriberId"), enabled=_parse_bool(op.get("enabled")))
    if name in ("deleteSubscriber", "getSubscriber"):
        return ProtocolRequest(**common, subscriber_id=op.get("subscriberId"))
    if name == "grantPpvEvent":
        return ProtocolRequest(**common, subscriber_id=op.get("subscriberId"), event_id=op.get("eventId"),
                               purchase_id=op.get("purchaseId"))
    if name == "listSubscribers":
        limit = op.get("limit")
        return ProtocolRequest(**common, limit=int(limit) if limit else None, cursor=op.get("cursor") or "")
    return ProtocolRequest(**common)


# -- responses (platform -> tripleplay) ------------------------------------------------------------------


def build_ok(request_id: str | None = None, *, packages: Iterable[PackageInfo] | None = None,
             ppv_events: Iterable[PpvEventInfo] | None = None, subscriber: SubscriberSpec | None = None,
             subscribers: Iterable[SubscriberSpec] | None = None, next_cursor: str = "",
             pong: dict | None = None, import_report: dict | None = None,
             version: str | None = None) -> bytes:
    """A success response with at most one payload. ``import_report``: ImportReport.as_dict().
    ``version`` defaults to the revision that added the payload (importReport: 1.1), else 1.0."""
    if version is None:
        version = SINCE[("element", "importReport")] if import_report is not None else BASE_VERSION
    root = _el(None, "response", version=version, requestId=request_id or None)
    ok = _el(root, "ok")
    if import_report is not None:
        report = _el(ok, "importReport", applied=_bool(import_report["applied"]))
        for section, name in (("packages", "packages"), ("ppv_events", "ppvEvents")):
            _el(report, name, **{k: str(len(v)) for k, v in import_report[section].items()})
    elif pong is not None:
        _el(ok, "pong", protocolVersion=pong.get("protocolVersion", PROTOCOL_VERSION), platform=pong.get("platform"),
            time=pong.get("time"))
    elif packages is not None:
        _add_packages(ok, packages)
    elif ppv_events is not None:
        _add_ppv_events(ok, ppv_events)
    elif subscriber is not None:
        _add_subscriber(ok, subscriber)
    elif subscribers is not None:
        page = _el(ok, "subscribers", nextCursor=next_cursor or None)
        for spec in subscribers:
            _add_subscriber(page, spec)
    return to_bytes(root)


def build_error(code: str, message: str, *, request_id: str | None = None, transient: bool | None = None,
                version: str = PROTOCOL_VERSION) -> bytes:
    """An error response; ``transient`` defaults to the code's documented classification."""
    root = _el(None, "response", version=version, requestId=request_id or None)
    err = _el(root, "error", code=code, transient=_bool(is_transient(code, bool(transient))))
    _el(err, "message", message[:2000])
    return to_bytes(root)


def parse_response(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ProtocolResponse:
    """Parse and validate a response document; raises XmlError when it is not one."""
    root = parse_valid(data, XSD_PATH, max_bytes=max_bytes)
    if root.tag != q("response"):
        raise XmlError("xml_schema_violation", f"expected a response document, got {etree.QName(root).localname}")
    common = {"version": root.get("version"), "request_id": root.get("requestId") or ""}
    body = root[0]
    if body.tag == q("error"):
        code = body.get("code")
        error = ProtocolError(code=code, message=_text(body, "message"),
                              transient=is_transient(code, _parse_bool(body.get("transient"))))
        return ProtocolResponse(**common, error=error)
    payload = body.find(q("*"))
    if payload is None:
        return ProtocolResponse(**common)
    name = etree.QName(payload).localname
    if name == "pong":
        return ProtocolResponse(**common, pong=dict(payload.attrib))
    if name == "packages":
        return ProtocolResponse(**common, packages=_read_packages(payload))
    if name == "ppvEvents":
        return ProtocolResponse(**common, ppv_events=_read_ppv_events(payload))
    if name == "subscriber":
        return ProtocolResponse(**common, subscriber=_read_subscriber_state(payload))
    if name == "subscribers":
        return ProtocolResponse(**common, next_cursor=payload.get("nextCursor") or "",
                                subscribers=[_read_subscriber_state(s) for s in payload.iterfind(q("subscriber"))])
    return ProtocolResponse(**common)


# -- catalog (platform pushes to tripleplay) ---------------------------------------------------------------


def build_catalog(packages: Iterable[PackageInfo], events: Iterable[PpvEventInfo], *, platform: str = "",
                  generated_at: datetime | None = None, version: str = CURRENT_VERSION) -> bytes:
    """A catalog document; ``version`` is the pushing platform's revision (it decides the answer's
    form: an importReport from 1.1 on)."""
    generated_at = generated_at or datetime.now(UTC).replace(microsecond=0)
    root = _el(None, "catalog", version=version, platform=platform or None, generatedAt=_timestamp(generated_at))
    _add_packages(root, packages)
    _add_ppv_events(root, events)
    return to_bytes(root)


_PRICE = re.compile(r"[0-9]{1,12}")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class CatalogDocument:
    packages: list[PackageInfo]
    ppv_events: list[PpvEventInfo]
    version: str  # the pushing platform's revision (catalog/@version)

    @property
    def wants_import_report(self) -> bool:
        """A platform of 1.0 knows no importReport (its schema would refuse it): it gets ``<ok/>``."""
        return supports(self.version, "importReport")


def parse_catalog(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[list[PackageInfo], list[PpvEventInfo]]:
    """(packages, PPV events) of a pushed catalog document: ``read_catalog`` without the version."""
    document = read_catalog(data, max_bytes=max_bytes)
    return document.packages, document.ppv_events


def read_catalog(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CatalogDocument:
    """Parse a pushed catalog document. Raises XmlError; codes:

    - ``xml_too_large``, ``xml_dtd_forbidden``, ``invalid_xml``: from tripleplay.core.xml.parse;
    - ``catalog_not_a_catalog``: another root element or namespace;
    - ``catalog_missing_field``: a required element or attribute is missing or empty;
    - ``catalog_bad_price``: a price that is not a whole, non-negative number of minor units;
    - ``catalog_bad_currency``: a currency that is not three upper-case letters;
    - ``catalog_duplicate_id``: two packages or two events with the same id;
    - ``catalog_bad_window``: an event that ends before it starts;
    - ``xml_schema_violation``: anything else the XSD refuses.
    """
    root = parse(data, max_bytes=max_bytes)
    if root.tag != q("catalog"):
        raise XmlError("catalog_not_a_catalog", f"expected {{{NS}}}catalog, got {root.tag}")
    try:
        validate(root, XSD_PATH)
    except XmlError as e:
        raise _diagnose_catalog(root, e) from None
    packages = _read_packages(root.find(q("packages")))
    events = _read_ppv_events(root.find(q("ppvEvents")))
    for event in events:
        if event.starts_at and event.ends_at and event.ends_at <= event.starts_at:
            raise XmlError("catalog_bad_window", f"PPV event {event.external_id}: endsAt is not after startsAt")
    return CatalogDocument(packages, events, root.get("version"))


def _diagnose_catalog(root: etree._Element, schema_error: XmlError) -> XmlError:
    """The XSD is the authority; this only names the commonest refusals with a precise code."""

    def missing(what: str) -> XmlError:
        return XmlError("catalog_missing_field", f"{what} is missing ({schema_error.message})")

    for section in ("packages", "ppvEvents"):
        if root.find(q(section)) is None:
            return missing(f"catalog/{section}")
    for kind, required_text in (("package", ("name",)), ("ppvEvent", ("title", "price"))):
        seen: set[str] = set()
        for el in root.iter(q(kind)):
            if el.getparent() is None or el.getparent().getparent() is not root:
                continue
            ident = el.get("id")
            if not (ident or "").strip():
                return missing(f"{kind}/@id")
            if ident in seen:
                return XmlError("catalog_duplicate_id", f"{kind} id {ident!r} appears twice")
            seen.add(ident)
            if kind == "package" and not el.get("kind"):
                return missing(f"package {ident}: @kind")
            for name in required_text:
                child = el.find(q(name))
                if child is None or not (child.text or "").strip():
                    return missing(f"{kind} {ident}: {name}")
            if kind == "ppvEvent":
                price = el.find(q("price"))
                if not _PRICE.fullmatch((price.text or "").strip()):
                    return XmlError("catalog_bad_price",
                                    f"PPV event {ident}: price {price.text!r} is not a whole number of minor units")
                currency = price.get("currency")
                if currency is None:
                    return missing(f"ppvEvent {ident}: price/@currency")
                if not _CURRENCY.fullmatch(currency):
                    return XmlError("catalog_bad_currency", f"PPV event {ident}: currency {currency!r} is not ISO 4217")
    return schema_error
