"""tripleplay real-time pay-per-view protocol v1 (namespace ``urn:tripleplay:ppv:1``): build and parse.

The XML twin of the JSON PPV API (tripleplay/api/ppv.py): a platform POSTs a ``ppvRequest`` with one
call (authorize, confirm, cancel, purchase) to ``ENDPOINT_PATH`` and gets a ``ppvResponse`` with a
``result`` (the services' Answer, field for field) or an ``error`` (the request was not processed).
Schema: ``XSD_PATH``; specification: docs/ppv.md. Used by the endpoint (``parse_request``,
``build_answer``, ``build_error``) and by the simulators (``build_request``, ``parse_answer``).

Fields are named as in JSON (``transaction_id``, ``price_minor`` ...) on the Python side and in
camelCase on the wire (``transactionId``, ``priceMinor`` ...). Every parse goes through
``tripleplay.core.xml`` (no DTD, size limit) and the XSD; failures raise ``XmlError`` with a code.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from tripleplay.core.xml import XmlError, parse, to_bytes, validate

NS = "urn:tripleplay:ppv:1"
NS_PREFIX = "urn:tripleplay:ppv:"  # any version's namespace starts so
PROTOCOL_VERSION = "1.0"
XSD_PATH = str(Path(__file__).resolve().parent / "schemas" / "tripleplay-ppv-1.xsd")
ENDPOINT_PATH = "/xml/v1/ppv"
CONTENT_TYPE = "application/xml; charset=utf-8"
MAX_BYTES = 64 * 1024  # a PPV request is a few hundred bytes

CALLS = ("authorize", "confirm", "cancel", "purchase")

# Wire (camelCase) <-> Python (JSON) names, in the XSD's order.
_REQUEST_FIELDS = {
    "authorize": (("transactionId", "transaction_id"), ("subscriber", "subscriber"), ("eventId", "event_id"),
                  ("priceMinor", "price_minor"), ("currency", "currency")),
    "confirm": (("transactionId", "transaction_id"), ("authorizationId", "authorization_id"),
                ("amountMinor", "amount_minor")),
    "cancel": (("transactionId", "transaction_id"), ("authorizationId", "authorization_id")),
}
_REQUEST_FIELDS["purchase"] = _REQUEST_FIELDS["authorize"]
ANSWER_FIELDS = (("result", "result"), ("code", "code"), ("message", "message"), ("transactionId", "transaction_id"),
                 ("authorizationId", "authorization_id"), ("subscriber", "subscriber"), ("eventId", "event_id"),
                 ("amountMinor", "amount_minor"), ("currency", "currency"), ("availableMinor", "available_minor"),
                 ("expiresAt", "expires_at"))
_INTS = frozenset({"price_minor", "amount_minor", "authorization_id", "available_minor"})

# Error code -> (HTTP status, transient). The HTTP status of a result is the Answer's own.
ERROR_CODES: dict[str, tuple[int, bool]] = {
    "INVALID_REQUEST": (400, False),
    "UNSUPPORTED_VERSION": (400, False),
    "UNSUPPORTED_MEDIA_TYPE": (415, False),
    "AUTHENTICATION_FAILED": (401, False),
    "TOO_LARGE": (413, False),
    "INTERNAL_ERROR": (500, True),
}


def q(name: str) -> str:
    """The qualified (Clark) name of a protocol element: ``{urn:tripleplay:ppv:1}name``."""
    return f"{{{NS}}}{name}"


def http_status(code: str) -> int:
    return ERROR_CODES.get(code, (400, False))[0]


def _el(parent: etree._Element | None, name: str, text: str | None = None, **attrs) -> etree._Element:
    el = etree.Element(q(name), attrs, nsmap={None: NS}) if parent is None else etree.SubElement(parent, q(name), attrs)
    if text is not None:
        el.text = text
    return el


def _text(value) -> str:
    if isinstance(value, bool):
        raise ValueError(f"a boolean is not a field value: {value!r}")
    return str(value)


def _read_fields(parent: etree._Element, names) -> dict:
    out = {}
    for wire, name in names:
        child = parent.find(q(wire))
        if child is None:
            out[name] = None
            continue
        text = (child.text or "").strip()
        out[name] = int(text) if name in _INTS else text
    return out


# -- requests (platform -> tripleplay) ------------------------------------------------------------------


def build_request(call: str, *, version: str = PROTOCOL_VERSION, **fields) -> bytes:
    """A ``ppvRequest`` document for ``call`` with JSON-named ``fields`` (None values are left out).
    Raises ValueError for an unknown call or field, XmlError when a value does not fit the schema."""
    if call not in CALLS:
        raise ValueError(f"unknown call {call!r}; one of {', '.join(CALLS)}")
    names = dict((name, wire) for wire, name in _REQUEST_FIELDS[call])
    unknown = set(fields) - set(names)
    if unknown:
        raise ValueError(f"{call} takes no field(s) {', '.join(sorted(unknown))}")
    root = _el(None, "ppvRequest", version=version)
    body = _el(root, call)
    for wire, name in _REQUEST_FIELDS[call]:
        if fields.get(name) is not None:
            _el(body, wire, _text(fields[name]))
    validate(root, XSD_PATH)
    return to_bytes(root)


def parse_request(data: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[str, dict]:
    """(call, fields) of a ``ppvRequest`` document; fields are JSON-named, every field of the call
    present (None when absent), text stripped, numbers as ints. XmlError codes: those of
    tripleplay.core.xml.parse, ``unsupported_version`` (another namespace or protocol version),
    ``xml_schema_violation``."""
    root = parse(data, max_bytes=max_bytes)
    namespace = etree.QName(root).namespace or ""
    if namespace != NS:
        if namespace.startswith(NS_PREFIX):
            raise XmlError("unsupported_version", f"protocol namespace {namespace} is not supported; this is {NS}")
        raise XmlError("xml_schema_violation", f"expected {{{NS}}}ppvRequest, got {root.tag}")
    version = root.get("version")
    if version is not None and not version.startswith("1."):
        raise XmlError("unsupported_version", f"protocol version {version} is not supported; this is {PROTOCOL_VERSION}")
    validate(root, XSD_PATH)
    if root.tag != q("ppvRequest"):
        raise XmlError("xml_schema_violation", f"expected a ppvRequest document, got {etree.QName(root).localname}")
    call = etree.QName(root[0]).localname
    return call, _read_fields(root[0], _REQUEST_FIELDS[call])


# -- answers (tripleplay -> platform) -------------------------------------------------------------------


def build_answer(answer: dict, *, version: str = PROTOCOL_VERSION) -> bytes:
    """A ``ppvResponse`` with the ``result`` of a services Answer (the HTTP status is the Answer's)."""
    root = _el(None, "ppvResponse", version=version)
    result = _el(root, "result")
    for wire, name in ANSWER_FIELDS:
        value = answer.get(name)
        if value is not None:
            _el(result, wire, _text(value)[:2000] if name == "message" else _text(value))
    return to_bytes(root)


def build_error(code: str, message: str, *, transient: bool | None = None, version: str = PROTOCOL_VERSION) -> bytes:
    """A ``ppvResponse`` with an ``error``: the request was not processed and nothing changed."""
    root = _el(None, "ppvResponse", version=version)
    if transient is None:
        transient = ERROR_CODES.get(code, (400, False))[1]
    err = _el(root, "error", code=code, transient="true" if transient else "false")
    _el(err, "message", message[:2000])
    return to_bytes(root)


def parse_answer(data: bytes, *, max_bytes: int = MAX_BYTES) -> dict:
    """The JSON answer's dict of a ``ppvResponse``: every key of ANSWER_FIELDS (None when absent), ints
    as ints. An ``error`` document gives ``result`` "error", its ``code`` (upper case, e.g.
    AUTHENTICATION_FAILED) and ``message``, everything else None. Raises XmlError when the document is
    not a valid ppvResponse."""
    root = parse(data, max_bytes=max_bytes)
    validate(root, XSD_PATH)
    if root.tag != q("ppvResponse"):
        raise XmlError("xml_schema_violation", f"expected a ppvResponse document, got {etree.QName(root).localname}")
    body = root[0]
    if body.tag == q("error"):
        answer = {name: None for _, name in ANSWER_FIELDS}
        answer.update(result="error", code=body.get("code"), message=body.findtext(q("message")) or "")
        return answer
    answer = _read_fields(body, ANSWER_FIELDS)
    answer["message"] = body.findtext(q("message")) or ""  # as sent, not stripped
    return answer
