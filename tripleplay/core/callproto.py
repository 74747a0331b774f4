"""A platform's real-time calls over XML: one request document with one call, one response document
with a ``result`` (the services' Answer, field for field) or an ``error`` (the request was not processed).

Two protocols have this shape and differ only in names: pay-per-view (``ppvRequest`` / ``ppvResponse``,
tripleplay/ppv/xmlproto.py, docs/ppv.md) and TV-screen orders in the generic XML protocol
(``orderRequest`` / ``orderResponse``, tripleplay/orders/xmlproto.py, docs/orders.md). Each of those
modules describes its protocol once as a ``CallProtocol`` (namespace, XSD, root names, fields, error
codes) and exposes its methods as its module functions. Imports nothing of Django: the simulators load it.

Fields are named as in JSON (``transaction_id`` ...) on the Python side and in camelCase on the wire
(``transactionId`` ...). Every parse goes through ``tripleplay.core.xml`` (no DTD, size limit) and
the XSD; failures raise ``XmlError`` with a code.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from tripleplay.core.xml import XmlError, parse, to_bytes, validate

MAX_MESSAGE = 2000  # characters of a message on the wire

Fields = tuple[tuple[str, str], ...]  # (wire name, JSON name) pairs, in the XSD's order


def _article(name: str) -> str:
    return "an" if name[:1].lower() in "aeiou" else "a"


def _text(value) -> str:
    if isinstance(value, bool):
        raise ValueError(f"a boolean is not a field value: {value!r}")
    return str(value)


class CallProtocol:
    """One call protocol: build and parse its requests (platform -> tripleplay) and answers
    (tripleplay -> platform). ``calls`` maps each call to its request fields; ``ints`` names the
    JSON fields read as integers; ``error_codes`` maps an error code to (HTTP status, transient)."""

    def __init__(self, *, namespace: str, namespace_prefix: str, version: str, xsd_path: str, request: str,
                 response: str, calls: Mapping[str, Fields], answer_fields: Fields, ints: frozenset[str],
                 error_codes: Mapping[str, tuple[int, bool]], max_bytes: int):
        self.namespace, self.namespace_prefix, self.version = namespace, namespace_prefix, version
        self.major = version.split(".", 1)[0] + "."  # a request of any 1.x revision is read
        self.xsd_path, self.request, self.response = xsd_path, request, response
        self.calls, self.answer_fields, self.ints = dict(calls), answer_fields, ints
        self.error_codes, self.max_bytes = error_codes, max_bytes

    def q(self, name: str) -> str:
        """The qualified (Clark) name of a protocol element: ``{namespace}name``."""
        return f"{{{self.namespace}}}{name}"

    def http_status(self, code: str) -> int:
        return self.error_codes.get(code, (400, False))[0]

    def _el(self, parent: etree._Element | None, name: str, text: str | None = None, **attrs) -> etree._Element:
        if parent is None:
            el = etree.Element(self.q(name), attrs, nsmap={None: self.namespace})
        else:
            el = etree.SubElement(parent, self.q(name), attrs)
        if text is not None:
            el.text = text
        return el

    def _read_fields(self, parent: etree._Element, names: Fields) -> dict:
        out = {}
        for wire, name in names:
            child = parent.find(self.q(wire))
            if child is None:
                out[name] = None
                continue
            text = (child.text or "").strip()
            out[name] = int(text) if name in self.ints else text
        return out

    def _root(self, root: etree._Element, expected: str) -> None:
        if root.tag != self.q(expected):
            raise XmlError("xml_schema_violation",
                           f"expected {_article(expected)} {expected} document, got {etree.QName(root).localname}")

    # -- requests (platform -> tripleplay) --------------------------------------------------------------

    def build_request(self, call: str, *, version: str | None = None, **fields) -> bytes:
        """A request document for ``call`` with JSON-named ``fields`` (None values are left out).
        Raises ValueError for an unknown call or field, XmlError when a value does not fit the schema."""
        if call not in self.calls:
            raise ValueError(f"unknown call {call!r}; one of {', '.join(self.calls)}")
        names = self.calls[call]
        unknown = set(fields) - {name for _, name in names}
        if unknown:
            raise ValueError(f"{call} takes no field(s) {', '.join(sorted(unknown))}")
        root = self._el(None, self.request, version=self.version if version is None else version)
        body = self._el(root, call)
        for wire, name in names:
            if fields.get(name) is not None:
                self._el(body, wire, _text(fields[name]))
        validate(root, self.xsd_path)
        return to_bytes(root)

    def parse_request(self, data: bytes, *, max_bytes: int | None = None) -> tuple[str, dict]:
        """(call, fields) of a request document; fields are JSON-named, every field of the call present
        (None when absent), text stripped, numbers as ints. XmlError codes: those of
        tripleplay.core.xml.parse, ``unsupported_version`` (another namespace or protocol version),
        ``xml_schema_violation``."""
        root = parse(data, max_bytes=self.max_bytes if max_bytes is None else max_bytes)
        namespace = etree.QName(root).namespace or ""
        if namespace != self.namespace:
            if namespace.startswith(self.namespace_prefix):
                raise XmlError("unsupported_version",
                               f"protocol namespace {namespace} is not supported; this is {self.namespace}")
            raise XmlError("xml_schema_violation", f"expected {self.q(self.request)}, got {root.tag}")
        version = root.get("version")
        if version is not None and not version.startswith(self.major):
            raise XmlError("unsupported_version",
                           f"protocol version {version} is not supported; this is {self.version}")
        validate(root, self.xsd_path)
        self._root(root, self.request)
        call = etree.QName(root[0]).localname
        return call, self._read_fields(root[0], self.calls[call])

    # -- answers (tripleplay -> platform) ---------------------------------------------------------------

    def build_answer(self, answer: Mapping, *, version: str | None = None) -> bytes:
        """A response with the ``result`` of a services Answer (the HTTP status is the Answer's)."""
        root = self._el(None, self.response, version=self.version if version is None else version)
        result = self._el(root, "result")
        for wire, name in self.answer_fields:
            value = answer.get(name)
            if value is not None:
                self._el(result, wire, _text(value)[:MAX_MESSAGE] if name == "message" else _text(value))
        return to_bytes(root)

    def build_error(self, code: str, message: str, *, transient: bool | None = None,
                    version: str | None = None) -> bytes:
        """A response with an ``error``: the request was not processed and nothing changed."""
        root = self._el(None, self.response, version=self.version if version is None else version)
        if transient is None:
            transient = self.error_codes.get(code, (400, False))[1]
        err = self._el(root, "error", code=code, transient="true" if transient else "false")
        self._el(err, "message", message[:MAX_MESSAGE])
        return to_bytes(root)

    def parse_answer(self, data: bytes, *, max_bytes: int | None = None) -> dict:
        """The JSON answer's dict of a response: every key of the answer fields (None when absent), ints
        as ints. An ``error`` document gives ``result`` "error", its ``code`` (upper case, e.g.
        AUTHENTICATION_FAILED) and ``message``, everything else None. Raises XmlError when the document
        is not a valid response."""
        root = parse(data, max_bytes=self.max_bytes if max_bytes is None else max_bytes)
        validate(root, self.xsd_path)
        self._root(root, self.response)
        body = root[0]
        if body.tag == self.q("error"):
            answer = {name: None for _, name in self.answer_fields}
            answer.update(result="error", code=body.get("code"), message=body.findtext(self.q("message")) or "")
            return answer
        answer = self._read_fields(body, self.answer_fields)
        answer["message"] = body.findtext(self.q("message")) or ""  # as sent, not stripped
        return answer
