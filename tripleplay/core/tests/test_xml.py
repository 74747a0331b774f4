"""tripleplay.core.xml: the only way tripleplay parses XML. Hostile documents are refused, fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tripleplay.core.xml import DEFAULT_MAX_BYTES, XmlError, parse, parse_valid, to_bytes, validate

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<r>&xxe;</r>
"""

XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test:1" xmlns="urn:test:1"
           elementFormDefault="qualified">
  <xs:element name="order">
    <xs:complexType>
      <xs:sequence><xs:element name="amount" type="xs:nonNegativeInteger"/></xs:sequence>
      <xs:attribute name="id" type="xs:string" use="required"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def refused(data: bytes, **kwargs) -> XmlError:
    with pytest.raises(XmlError) as err:
        parse(data, **kwargs)
    return err.value


def test_accepts_normal_namespaced_xml():
    root = parse(b'<?xml version="1.0" encoding="UTF-8"?>\n<a:doc xmlns:a="urn:a" xmlns:b="urn:b">'
                 b'<a:item b:flag="1">caf\xc3\xa9 &amp; &lt;tea&gt;</a:item><!-- note --><?pi x?></a:doc>')
    assert root.tag == "{urn:a}doc"
    item = root[0]
    assert item.text == "café & <tea>"
    assert item.get("{urn:b}flag") == "1"
    assert len(root) == 1  # comments and processing instructions are dropped
    assert parse(to_bytes(root)).tag == "{urn:a}doc"


def test_accepts_character_references_which_need_no_dtd():
    assert parse(b"<r>&#65;&#x42;&quot;</r>").text == 'AB"'


def test_refuses_a_doctype():
    assert refused(b'<?xml version="1.0"?><!DOCTYPE r><r/>').code == "xml_dtd_forbidden"
    assert refused(b'<!DOCTYPE r SYSTEM "http://example.invalid/r.dtd"><r/>').code == "xml_dtd_forbidden"


def test_refuses_a_doctype_hidden_after_a_long_comment():
    data = b"<!--" + b"x" * 10_000 + b"--><!DOCTYPE r><r/>"
    assert refused(data).code == "xml_dtd_forbidden"


def test_refuses_billion_laughs_fast():
    started = time.monotonic()
    err = refused(LAUGHS.encode())
    assert time.monotonic() - started < 1.0
    assert err.code == "xml_dtd_forbidden"


def test_refuses_billion_laughs_in_utf16_fast():
    """The byte-level DOCTYPE check cannot see UTF-16; lxml's parse must still refuse it quickly."""
    started = time.monotonic()
    refused(LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16"))
    assert time.monotonic() - started < 1.0


def test_refuses_external_entities_and_never_reads_the_file():
    passwd = Path("/etc/passwd").read_text()[:20] if Path("/etc/passwd").exists() else "root:"
    err = refused(XXE.encode())
    assert err.code == "xml_dtd_forbidden"
    assert passwd not in err.message
    err16 = refused(XXE.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16"))
    assert passwd not in err16.message


def test_refuses_parameter_entities():
    data = b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>'
    assert refused(data).code == "xml_dtd_forbidden"


def test_does_not_process_xinclude():
    root = parse(b'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" '
                 b'parse="text"/></r>')
    assert root[0].tag == "{http://www.w3.org/2001/XInclude}include"
    assert "root:" not in to_bytes(root).decode()


def test_refuses_oversized_documents_before_parsing():
    big = b"<r>" + b"x" * DEFAULT_MAX_BYTES + b"</r>"
    assert refused(big).code == "xml_too_large"
    assert refused(b"<r>12345</r>", max_bytes=5).code == "xml_too_large"


@pytest.mark.parametrize("data", [b"<r>", b"<r></s>", b"not xml", b"<r a='1' a='2'/>", b"<a/><b/>",
                                  b"<r>\x00</r>", b"<r>&undefined;</r>"])
def test_refuses_malformed_documents(data):
    assert refused(data).code == "invalid_xml"


@pytest.mark.parametrize("data", [b"", b"   \n\t"])
def test_refuses_empty_documents(data):
    assert refused(data).code == "invalid_xml"


def test_refuses_text_instead_of_bytes():
    with pytest.raises(XmlError) as err:
        parse("<r/>")
    assert err.value.code == "invalid_xml"


def test_validate_reports_schema_violations(tmp_path):
    xsd = tmp_path / "order.xsd"
    xsd.write_text(XSD)
    good = parse_valid(b'<order xmlns="urn:test:1" id="o1"><amount>5</amount></order>', str(xsd))
    assert good.get("id") == "o1"
    for bad in (b'<order xmlns="urn:test:1" id="o1"><amount>-5</amount></order>',
                b'<order xmlns="urn:test:1"><amount>5</amount></order>',
                b'<order xmlns="urn:test:1" id="o1"/>',
                b'<order id="o1"><amount>5</amount></order>'):
        with pytest.raises(XmlError) as err:
            validate(parse(bad), str(xsd))
        assert err.value.code == "xml_schema_violation"
        assert "schema" in err.value.message


def test_parse_valid_refuses_hostile_input_before_validation(tmp_path):
    xsd = tmp_path / "order.xsd"
    xsd.write_text(XSD)
    with pytest.raises(XmlError) as err:
        parse_valid(LAUGHS.encode(), str(xsd))
    assert err.value.code == "xml_dtd_forbidden"
