"""tripleplay real-time pay-per-view protocol v1 (namespace ``urn:tripleplay:ppv:1``): build and parse.

The XML twin of the JSON PPV API (tripleplay/api/ppv.py): a platform POSTs a ``ppvRequest`` with one
call (authorize, confirm, cancel, purchase) to ``ENDPOINT_PATH`` and gets a ``ppvResponse`` with a
``result`` (the services' Answer, field for field) or an ``error`` (the request was not processed).
Schema: ``XSD_PATH``; specification: docs/ppv.md. Used by the endpoint (``parse_request``,
``build_answer``, ``build_error``) and by the simulators (``build_request``, ``parse_answer``).

The request/answer code is tripleplay.core.callproto's, shared with the TV-screen orders' protocol:
this module names the PPV protocol's namespace, XSD, root elements, fields and error codes. Fields are
named as in JSON (``transaction_id``, ``price_minor`` ...) on the Python side and in camelCase on the
wire (``transactionId``, ``priceMinor`` ...). Every parse goes through ``tripleplay.core.xml`` (no DTD,
size limit) and the XSD; failures raise ``XmlError`` with a code.
"""

from __future__ import annotations

from pathlib import Path

from tripleplay.core.callproto import CallProtocol

NS = "urn:tripleplay:ppv:1"
NS_PREFIX = "urn:tripleplay:ppv:"  # any version's namespace starts so
PROTOCOL_VERSION = "1.0"
XSD_PATH = str(Path(__file__).resolve().parent / "schemas" / "tripleplay-ppv-1.xsd")
ENDPOINT_PATH = "/xml/v1/ppv"
CONTENT_TYPE = "application/xml; charset=utf-8"
MAX_BYTES = 64 * 1024  # a PPV request is a few hundred bytes

# Wire (camelCase) <-> Python (JSON) names, in the XSD's order.
_REQUEST_FIELDS = {
    "authorize": (("transactionId", "transaction_id"), ("subscriber", "subscriber"), ("eventId", "event_id"),
                  ("priceMinor", "price_minor"), ("currency", "currency")),
    "confirm": (("transactionId", "transaction_id"), ("authorizationId", "authorization_id"),
                ("amountMinor", "amount_minor")),
    "cancel": (("transactionId", "transaction_id"), ("authorizationId", "authorization_id")),
}
_REQUEST_FIELDS["purchase"] = _REQUEST_FIELDS["authorize"]
CALLS = tuple(_REQUEST_FIELDS)  # authorize, confirm, cancel, purchase
ANSWER_FIELDS = (("result", "result"), ("code", "code"), ("message", "message"), ("transactionId", "transaction_id"),
                 ("authorizationId", "authorization_id"), ("subscriber", "subscriber"), ("eventId", "event_id"),
                 ("amountMinor", "amount_minor"), ("currency", "currency"), ("availableMinor", "available_minor"),
                 ("expiresAt", "expires_at"))

# Error code -> (HTTP status, transient). The HTTP status of a result is the Answer's own. The XSD's
# ErrorCode documentation and docs/ppv.md's table say the same (ppv/tests/test_protocol_docs.py).
ERROR_CODES: dict[str, tuple[int, bool]] = {
    "INVALID_REQUEST": (400, False),
    "UNSUPPORTED_VERSION": (400, False),
    "UNSUPPORTED_MEDIA_TYPE": (415, False),
    "AUTHENTICATION_FAILED": (401, False),
    "TOO_LARGE": (413, False),
    "INTERNAL_ERROR": (500, True),
}

PROTOCOL = CallProtocol(
    namespace=NS, namespace_prefix=NS_PREFIX, version=PROTOCOL_VERSION, xsd_path=XSD_PATH,
    request="ppvRequest", response="ppvResponse", calls=_REQUEST_FIELDS, answer_fields=ANSWER_FIELDS,
    ints=frozenset({"price_minor", "amount_minor", "authorization_id", "available_minor"}),
    error_codes=ERROR_CODES, max_bytes=MAX_BYTES)

# The module's functions, as the endpoint (parse_request, build_answer, build_error) and the simulators
# (build_request, parse_answer) call them.
q = PROTOCOL.q
http_status = PROTOCOL.http_status
build_request = PROTOCOL.build_request
parse_request = PROTOCOL.parse_request
build_answer = PROTOCOL.build_answer
build_error = PROTOCOL.build_error
parse_answer = PROTOCOL.parse_answer
