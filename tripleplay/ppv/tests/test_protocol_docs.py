"""The XML PPV protocol's error codes are one list, read by the code (``ppv.xmlproto.ERROR_CODES``),
the XSD (the ErrorCode type's documentation) and docs/ppv.md (the table of the XML section), as the
generic XML protocol's are (iptv/tests/test_protocol_docs.py): a code, an HTTP status or a transient
flag added to one of them and not to the others fails here."""

from __future__ import annotations

import re
from pathlib import Path

from tripleplay.core.xml import parse
from tripleplay.ppv import xmlproto

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "ppv.md"
XS = "{http://www.w3.org/2001/XMLSchema}"
CODE = re.compile(r"\b[A-Z]{2,}(?:_[A-Z]+)+\b")
STATUS = re.compile(r"\b[1-5]\d\d\b")


def xsd_errors() -> dict[str, tuple[list[int], bool]]:
    """code -> (HTTP statuses in the order named, transient) from the ErrorCode type's documentation,
    written ``CODE (status: when; other status for ...)``, ``transient`` inside the brackets."""
    xsd = parse(Path(xmlproto.XSD_PATH).read_bytes())
    text = " ".join(xsd.find(f"{XS}simpleType[@name='ErrorCode']/{XS}annotation/{XS}documentation").text.split())
    return {code: ([int(s) for s in STATUS.findall(inside)], "transient" in inside)
            for code, inside in re.findall(r"\b([A-Z][A-Z_]+) \(([^()]*)\)", text)}


def doc_errors() -> dict[str, tuple[list[int], bool]]:
    """code -> (HTTP statuses in the order of the rows, transient) from the table that follows the XML
    section's error sample in docs/ppv.md."""
    section = DOC.read_text().split("### Platforms, XML", 1)[1].split("\n### ", 1)[0]
    out: dict[str, tuple[list[int], bool]] = {}
    for code, status, when in re.findall(r"^\| `([A-Z_]+)` *\| (\d{3}) *\| (.*)\|$", section, flags=re.M):
        statuses, transient = out.get(code, ([], False))
        out[code] = ([*statuses, int(status)], transient or 'transient="true"' in when)
    return out


def test_the_code_the_xsd_and_the_doc_name_the_same_error_codes():
    xsd, doc = xsd_errors(), doc_errors()
    assert len(xmlproto.ERROR_CODES) >= 6  # the readers found the lists (a broken pattern reads nothing)
    assert list(xsd) == list(xmlproto.ERROR_CODES)  # same codes, same order
    assert set(doc) == set(xmlproto.ERROR_CODES)


def test_each_code_has_the_same_http_status_and_transient_flag_everywhere():
    xsd, doc = xsd_errors(), doc_errors()
    for code, (status, transient) in xmlproto.ERROR_CODES.items():
        assert xsd[code][0][0] == status, code  # the first status named is the code's own
        assert status in doc[code][0], code
        assert sorted(xsd[code][0]) == sorted(doc[code][0]), code  # the other statuses (405, 422) in both
        assert xsd[code][1] is doc[code][1] is transient, code
        assert xmlproto.http_status(code) == status
        error = parse(xmlproto.build_error(code, "m"))[0]
        assert error.get("transient") == ("true" if transient else "false"), code


def test_no_other_error_code_is_named_in_the_xsd_or_the_docs_table():
    # a code named in prose but missing from the list (as the generic protocol's XSD once promised one)
    xsd = parse(Path(xmlproto.XSD_PATH).read_bytes())
    named = set()
    for documentation in xsd.iter(f"{XS}documentation"):
        named |= set(CODE.findall(documentation.text or ""))
    assert named <= set(xmlproto.ERROR_CODES), named - set(xmlproto.ERROR_CODES)
    section = DOC.read_text().split("### Platforms, XML", 1)[1].split("\n### ", 1)[0]
    in_doc = set(re.findall(r"`([A-Z]{2,}(?:_[A-Z]+)+)`", section))
    assert in_doc <= set(xmlproto.ERROR_CODES), in_doc - set(xmlproto.ERROR_CODES)
