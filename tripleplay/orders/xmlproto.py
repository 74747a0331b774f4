"""Orders from the TV screen in the generic XML protocol, revision 1.3 (namespace ``urn:tripleplay:iptv:1``,
schema and namespace of tripleplay.iptv.xmlproto; docs/orders.md, D183): build and parse.

The XML twin of the JSON order API (tripleplay/api/orders.py): a platform POSTs an ``orderRequest``
with one call (``order`` or ``balance``) to ``ENDPOINT_PATH`` and gets an ``orderResponse`` with a
``result`` (the services' Answer, field for field) or an ``error`` (the request was not processed).
Used by the endpoint (``parse_request``, ``build_answer``, ``build_error``) and by the simulators
(``build_request``, ``parse_answer``). Imports nothing of Django: the simulators load it.

The request/answer code is tripleplay.core.callproto's, shared with the PPV protocol: this module
names the order calls' root elements, fields and error codes (the generic protocol's). Fields are
JSON-named on the Python side (``transaction_id`` ...) and camelCase on the wire. Every parse goes
through ``tripleplay.core.xml`` (no DTD, size limit) and the XSD.
"""

from __future__ import annotations

from tripleplay.core.callproto import CallProtocol
from tripleplay.iptv.xmlproto import ERROR_CODES, NS, NS_PREFIX, ORDERS_REVISION, XSD_PATH

PROTOCOL_VERSION = ORDERS_REVISION
ENDPOINT_PATH = "/xml/v1/orders"
CONTENT_TYPE = "application/xml; charset=utf-8"
MAX_BYTES = 64 * 1024  # an order is a few hundred bytes

_REQUEST_FIELDS = {
    "order": (("transactionId", "transaction_id"), ("subscriber", "subscriber"), ("action", "action"),
              ("product", "product"), ("plan", "plan")),
    "balance": (("subscriber", "subscriber"),),
}
CALLS = tuple(_REQUEST_FIELDS)  # order, balance
ANSWER_FIELDS = (("result", "result"), ("code", "code"), ("message", "message"), ("transactionId", "transaction_id"),
                 ("orderId", "order_id"), ("subscriber", "subscriber"), ("action", "action"), ("product", "product"),
                 ("plan", "plan"), ("amountMinor", "amount_minor"), ("currency", "currency"),
                 ("balanceMinor", "balance_minor"), ("availableMinor", "available_minor"), ("heldMinor", "held_minor"),
                 ("customerStatus", "customer_status"))

PROTOCOL = CallProtocol(
    namespace=NS, namespace_prefix=NS_PREFIX, version=PROTOCOL_VERSION, xsd_path=XSD_PATH,
    request="orderRequest", response="orderResponse", calls=_REQUEST_FIELDS, answer_fields=ANSWER_FIELDS,
    ints=frozenset({"order_id", "amount_minor", "balance_minor", "available_minor", "held_minor"}),
    error_codes=ERROR_CODES, max_bytes=MAX_BYTES)

q = PROTOCOL.q
http_status = PROTOCOL.http_status
build_request = PROTOCOL.build_request
parse_request = PROTOCOL.parse_request
build_answer = PROTOCOL.build_answer
build_error = PROTOCOL.build_error
parse_answer = PROTOCOL.parse_answer
