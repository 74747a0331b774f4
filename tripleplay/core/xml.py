"""Safe XML: the only way tripleplay parses XML (platform requests, platform responses).

lxml with entity resolution, DTD loading, network access and huge trees all off; a document that
declares a DOCTYPE at all is refused (billion laughs and external entities need one); a size limit
before parsing; optional XSD validation. Failures raise ``XmlError`` with a stable code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

DEFAULT_MAX_BYTES = 1024 * 1024


class XmlError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted XML bytes; returns the root element or raises XmlError."""
    if not isinstance(data, (bytes, bytearray)):
        raise XmlError("invalid_xml", "XML must be given as bytes")
    if len(data) > max_bytes:
        raise XmlError("xml_too_large", f"XML document larger than {max_bytes} bytes")
    if not data.strip():
        raise XmlError("invalid_xml", "empty XML document")
    # Refuse any DTD before lxml sees it: entity declarations live there.
    head = bytes(data[:4096]).upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in bytes(data).upper():
        raise XmlError("xml_dtd_forbidden", "DTDs and entity declarations are not allowed")
    try:
        root = etree.fromstring(bytes(data), parser=_parser())
    except etree.XMLSyntaxError as e:
        raise XmlError("invalid_xml", f"malformed XML: {e.msg} (line {e.lineno})") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlError("xml_dtd_forbidden", "DTDs and entity declarations are not allowed")
    return root


@cache
def schema(path: str) -> etree.XMLSchema:
    """Load an XSD that ships with tripleplay (never from the network)."""
    doc = etree.parse(str(Path(path)), parser=_parser())
    return etree.XMLSchema(doc)


def validate(root: etree._Element, xsd_path: str | etree.XMLSchema) -> None:
    """Validate against a shipped XSD (its path) or an already compiled schema."""
    xsd = xsd_path if isinstance(xsd_path, etree.XMLSchema) else schema(str(xsd_path))
    if not xsd.validate(root):
        err = xsd.error_log.last_error
        raise XmlError("xml_schema_violation", f"XML does not match the schema: {err.message} (line {err.line})")


def parse_valid(data: bytes, xsd_path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    root = parse(data, max_bytes=max_bytes)
    validate(root, xsd_path)
    return root


def to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
