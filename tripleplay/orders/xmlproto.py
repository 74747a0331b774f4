"""Orders from the TV screen in the generic XML protocol, revision 1.3 (namespace ``urn:tripleplay:iptv:1``,
schema and namespace of tripleplay.iptv.xmlproto; docs/orders.md, D183): build and parse.

The XML twin of the JSON order API (tripleplay/api/orders.py): a platform POSTs an ``orderRequest``
with one call (``order`` or ``balance``) to ``ENDPOINT_PATH`` and gets an ``orderResponse`` with a
``result`` (the services' Answer, field for field) or an ``error`` (the request was not processed).
Used by the endpoint (``parse_request``, ``build_answer``, ``build_error``) and by the simulators
(``build_request``, ``parse_answer``). Imports nothing of Django: the simulators load it.

Fields are JSON-named on the Python side (``transaction_id`` ...) and camelCase on the wire.
Every parse goes through ``tripleplay.core.xml`` (no DTD, size limit) and the XSD.
"""

from __future__ import annotations

from lxml import etree

from tripleplay.core.xml import XmlError, parse, to_bytes, validate
from tripleplay.iptv.xmlproto import ERROR_CODES, NS, NS_PREFIX, ORDERS_REVISION, XSD_PATH

PROTOCOL_VERSION = ORDERS_REVISION
ENDPOINT_PATH = "/xml/v1/orders"
CONTENT_TYPE = "application/xml; charset=utf-8"
MAX_BYTES = 64 * 1024  # an order is a few hundred bytes

CALLS = ("order", "balance")
_REQUEST_FIELDS = {
    "order": (("transactionId", "transaction_id"), ("subscriber", "subscriber"), ("action", "action"),
              ("product", "product"), ("plan", "plan")),
    "balance": (("subscriber", "subscriber"),),
}
ANSWER_FIELDS = (("result", "result"), ("code", "code"), ("message", "message"), ("transactionId", "transaction_id"),
                 ("orderId", "order_id"), ("subscriber", "subscriber"), ("action", "action"), ("product", "product"),
                 ("plan", "plan"), ("amountMinor", "amount_minor"), ("currency", "currency"),
                 ("balanceMinor", "balance_minor"), ("availableMinor", "available_minor"), ("heldMinor", "held_minor"),
                 ("customerStatus", "customer_status"))
_INTS = frozenset({"order_id", "amount_minor", "balance_minor", "available_minor", "held_minor"})


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def http_status(code: str) -> int:
    return ERROR_CODES.get(code, (400, False))[0]


def _el(parent, name: str, text: str | None = None, **attrs):
    el = etree.Element(q(name), attrs, nsmap={None: NS}) if parent is None else etree.SubElement(parent, q(name), attrs)
    if text is not None:
        el.text = text
    return el


def _text(value) -> str:
    if isinstance(value, bool):
        raise ValueError(f"a boolean is not a field value: {value!r}")
    return str(value)


def _read_fields(parent, names) -> dict:
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
    """An ``orderRequest`` for ``call`` with JSON-named ``fields`` (None left out). ValueError for an
    unknown call or field, XmlError when a value does not fit the schema."""
    if call not in CALLS:
        raise ValueError(f"unknown call {call!r}; one of {', '.join(CALLS)}")
    names = {name for _, name in _REQUEST_FIELDS[call]}
    unknown = set(fields) - names
    if unknown:
        raise ValueError(f"{call} takes no field(s) {', '.join(sorted(unknown))}")
    root = _el(None, "orderRequest", version=version)
    body = _el(root, call)
    for wire, name in _REQUEST_FIELDS[call]:
        if fields.get(name) is not None:
            _el(body, wire, _text(fields[name]))
    validate(root, XSD_PATH)
    return to_bytes(root)


def parse_request(data: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[str, dict]:
    """(call, fields) of an ``orderRequest``: every field of the call present (None when absent).
    XmlError codes: those of tripleplay.core.xml.parse, ``unsupported_version``, ``xml_schema_violation``."""
    root = parse(data, max_bytes=max_bytes)
    namespace = etree.QName(root).namespace or ""
    if namespace != NS:
        if namespace.startswith(NS_PREFIX):
            raise XmlError("unsupported_version", f"protocol namespace {namespace} is not supported; this is {NS}")
        raise XmlError("xml_schema_violation", f"expected {{{NS}}}orderRequest, got {root.tag}")
    version = root.get("version")
    if version is not None and not version.startswith("1."):
        raise XmlError("unsupported_version", f"protocol version {version} is not supported; this is {PROTOCOL_VERSION}")
    validate(root, XSD_PATH)
    if root.tag != q("orderRequest"):
        raise XmlError("xml_schema_violation", f"expected an orderRequest document, got {etree.QName(root).localname}")
    call = etree.QName(root[0]).localname
    return call, _read_fields(root[0], _REQUEST_FIELDS[call])


# -- answers (tripleplay -> platform) -------------------------------------------------------------------


def build_answer(answer: dict, *, version: str = PROTOCOL_VERSION) -> bytes:
    root = _el(None, "orderResponse", version=version)
    result = _el(root, "result")
    for wire, name in ANSWER_FIELDS:
        value = answer.get(name)
        if value is not None:
            _el(result, wire, _text(value)[:2000] if name == "message" else _text(value))
    return to_bytes(root)


def build_error(code: str, message: str, *, transient: bool | None = None, version: str = PROTOCOL_VERSION) -> bytes:
    """An ``orderResponse`` with an ``error``: the request was not processed and nothing changed."""
    root = _el(None, "orderResponse", version=version)
    if transient is None:
        transient = ERROR_CODES.get(code, (400, False))[1]
    err = _el(root, "error", code=code, transient="true" if transient else "false")
    _el(err, "message", message[:2000])
    return to_bytes(root)


def parse_answer(data: bytes, *, max_bytes: int = MAX_BYTES) -> dict:
    """The JSON answer's dict of an ``orderResponse`` (every key of ANSWER_FIELDS, None when absent).
    An ``error`` gives result "error", its upper-case code and message. XmlError when not valid."""
    root = parse(data, max_bytes=max_bytes)
    validate(root, XSD_PATH)
    if root.tag != q("orderResponse"):
        raise XmlError("xml_schema_violation", f"expected an orderResponse document, got {etree.QName(root).localname}")
    body = root[0]
    if body.tag == q("error"):
        answer = {name: None for _, name in ANSWER_FIELDS}
        answer.update(result="error", code=body.get("code"), message=body.findtext(q("message")) or "")
        return answer
    answer = _read_fields(body, ANSWER_FIELDS)
    answer["message"] = body.findtext(q("message")) or ""
    return answer
