"""The XML protocols' documents against their docs: every ```xml block in docs/**/*.md validates
against the XSD of its namespace (or, marked, fails it); the error codes, the revisions and the
extension slots of the generic XML protocol are one list each, read by the XSD, the doc and the code.

Markers (an XML comment opening the block, D172):
  <!-- revision 1.1 -->                   validate against the schema of that older revision
  <!-- invalid: why -->                   a deliberately invalid sample: it must FAIL validation
  <!-- invalid at revision 1.1: why -->   must fail against that revision's schema (and pass the current one)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from tripleplay.core.xml import XmlError, parse, validate
from tripleplay.iptv import xmlproto
from tripleplay.ppv import xmlproto as ppv_xmlproto

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
SPEC = DOCS / "platforms" / "generic_xml.md"
XS = "{http://www.w3.org/2001/XMLSchema}"
SINCE = f"{{{xmlproto.VERSIONS_NS}}}since"



def shipped_schemas() -> dict[str, str]:
    """targetNamespace -> path of every XSD tripleplay ships (tripleplay/*/schemas/*.xsd): a protocol
    added later (its own namespace and XSD) has its samples validated with no change here."""
    found = {}
    for path in sorted((ROOT / "tripleplay").glob("*/schemas/*.xsd")):
        namespace = parse(path.read_bytes()).get("targetNamespace")
        assert namespace not in found, f"two XSDs for {namespace}"
        found[namespace] = str(path)
    return found


# namespace of the root -> the XSD that is normative for it
SCHEMAS = shipped_schemas()
# Modelled vendor formats have no published XSD (docs/platforms/README.md): their samples must be
# well-formed and safe to parse, and each root must be listed here, so that a new kind of sample is a
# decision, not an accident. (root namespace, root local name) -> the page that describes it.
NO_PUBLISHED_XSD = {
    ("", "BackOfficeRequest"): "minerva.md (modelled iTVManager BackOffice XML)",
    ("", "BackOfficeResponse"): "minerva.md (modelled iTVManager BackOffice XML)",
    ("http://schemas.xmlsoap.org/soap/envelope/", "Envelope"): "seachange.md (modelled SOAP)",
    ("urn:seachange:SubscriberManagement:1", "*"): "seachange.md (modelled SOAP body elements)",
}
MARKER = re.compile(r"\s*<!--\s*(?P<invalid>invalid)?\s*(?:at\s+)?(?:revision\s+(?P<revision>1\.[0-9]+))?\s*(?::|-->)")


def xml_samples() -> list[tuple[str, int, str]]:
    """(file relative to the repository, line, text) of every ```xml block under docs/."""
    samples = []
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```xml\n(.*?)^```", text, flags=re.S | re.M):
            line = text.count("\n", 0, match.start()) + 1
            samples.append((str(path.relative_to(ROOT)), line, match.group(1)))
    return samples


SAMPLES = xml_samples()


def marker(text: str) -> tuple[bool, str | None]:
    m = MARKER.match(text) if text.lstrip().startswith("<!--") else None
    if m is None:
        return False, None
    return bool(m.group("invalid")), m.group("revision")


def check(text: str, revision: str | None) -> None:
    """Raise XmlError unless the sample is valid against its schema (at ``revision``)."""
    root = parse(text.encode())
    namespace = etree.QName(root).namespace or ""
    if namespace == xmlproto.NS:
        validate(root, xmlproto.schema_for(revision or xmlproto.CURRENT_VERSION))
    else:
        assert revision is None, "revision markers are for the generic XML protocol"
        validate(root, SCHEMAS[namespace])


@pytest.mark.parametrize("where,line,text", SAMPLES, ids=[f"{w}:{n}" for w, n, _ in SAMPLES])
def test_every_xml_sample_in_the_docs_validates_against_its_xsd(where, line, text):
    invalid, revision = marker(text)
    root = parse(text.encode())  # every sample is well-formed and passes the safe parser (no DTD)
    namespace = etree.QName(root).namespace or ""
    if namespace not in SCHEMAS:
        assert not invalid and revision is None, f"{where}:{line}: markers need a schema"
        local = etree.QName(root).localname
        assert (namespace, local) in NO_PUBLISHED_XSD or (namespace, "*") in NO_PUBLISHED_XSD, (
            f"{where}:{line}: a sample of {{{namespace}}}{local}, which has no XSD here: give it one or list it")
        return
    if not invalid:
        check(text, revision)
        return
    with pytest.raises(XmlError) as refused:
        check(text, revision)
    assert refused.value.code == "xml_schema_violation", refused.value.message
    if revision is not None:
        check(text, None)  # "invalid at 1.1" means: valid now, refused by that older revision


def test_the_docs_hold_samples_of_every_kind():
    kinds = {}
    for _, _, text in SAMPLES:
        root = parse(text.encode())
        key = (etree.QName(root).namespace or "", etree.QName(root).localname, marker(text))
        kinds[key] = kinds.get(key, 0) + 1
    ours = {(ns, name) for ns, name, _ in kinds if ns == xmlproto.NS}
    assert ours >= {(xmlproto.NS, "request"), (xmlproto.NS, "response"), (xmlproto.NS, "catalog")}
    assert any(ns == ppv_xmlproto.NS for ns, _, _ in kinds)
    assert SCHEMAS[xmlproto.NS] == xmlproto.XSD_PATH and SCHEMAS[ppv_xmlproto.NS] == ppv_xmlproto.XSD_PATH
    assert any(mark[0] and mark[1] is None for _, _, mark in kinds), "no deliberately invalid sample"
    assert any(mark[0] and mark[1] for _, _, mark in kinds), "no sample refused by an older revision"
    assert sum(n for (ns, _, _), n in kinds.items() if ns == xmlproto.NS) >= 25


def test_the_markers_are_read_as_written():
    assert marker("<!-- invalid: enabled must be a boolean -->\n<a/>") == (True, None)
    assert marker("<!-- invalid at revision 1.1: grantPpvEvent is 1.2 -->\n<a/>") == (True, "1.1")
    assert marker("<!-- revision 1.0 -->\n<a/>") == (False, "1.0")
    assert marker("<!-- a plain comment -->\n<a/>") == (False, None)
    assert marker("<a/>") == (False, None)


def test_check_passes_a_valid_sample_and_refuses_a_newer_construct_at_an_older_revision():
    # the check is not vacuous: a valid sample marked invalid passes check(), so the docs test fails on it
    ping = xmlproto.build_request("ping", request_id="r").decode().split("?>", 1)[1]
    check(ping, None)
    grant = xmlproto.build_request("grantPpvEvent", request_id="r", subscriber_id="s", event_id="e",
                                   purchase_id="p").decode().split("?>", 1)[1]
    with pytest.raises(XmlError):
        check(grant, "1.1")


# -- one list of error codes -------------------------------------------------------------------------------


def xsd_tree() -> etree._Element:
    return parse(Path(xmlproto.XSD_PATH).read_bytes())


def doc_error_table() -> dict[str, tuple[int, str, str]]:
    """code -> (HTTP, class, revision) from the table of section 4 of the spec."""
    section = SPEC.read_text().split("## 4. Errors", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| (\d{3}) \| (permanent|transient) \| (1\.\d+) \|", section, flags=re.M)
    return {code: (int(status), klass, since) for code, status, klass, since in rows}


def test_the_error_codes_are_one_list_in_code_xsd_and_doc():
    known = xsd_tree().find(f"{XS}simpleType[@name='KnownErrorCode']")
    xsd = {e.get("value"): (e.findtext(f"{XS}annotation/{XS}documentation"), e.get(SINCE, "1.0"))
           for e in known.iter(f"{XS}enumeration")}
    assert list(xsd) == [c.value for c in xmlproto.ErrorCode]  # same codes, same order
    doc = doc_error_table()
    assert list(doc) == [c.value for c in xmlproto.ErrorCode]
    for code in xmlproto.ErrorCode:
        klass = "transient" if code.transient else "permanent"
        documentation, since = xsd[code.value]
        assert documentation.startswith(f"{klass}; HTTP {code.http_status}."), code
        assert since == code.since, code
        assert doc[code.value] == (code.http_status, klass, code.since), code
        assert xmlproto.http_status(code.value) == code.http_status
        assert xmlproto.is_transient(code.value, not code.transient) is code.transient


def test_no_other_error_code_is_named_in_the_xsd_or_the_doc():
    # a code named in prose but missing from the list (the XSD once promised UNSUPPORTED_OPERATION)
    known = {c.value for c in xmlproto.ErrorCode}
    shaped = re.compile(r"\b[A-Z]{2,}(?:_[A-Z]+)+\b")
    xsd_words = set()
    for doc in xsd_tree().iter(f"{XS}documentation"):
        xsd_words |= set(shaped.findall(doc.text or ""))
    assert xsd_words <= known, xsd_words - known
    spec = SPEC.read_text()
    spec_codes = set(re.findall(r"`([A-Z]{2,}(?:_[A-Z]+)+)`", spec))
    allowed_examples = {"VENDOR_MAINTENANCE"}  # the doc's example of a platform's own code
    assert spec_codes <= known | allowed_examples, spec_codes - known - allowed_examples


# -- one registry of revisions ------------------------------------------------------------------------------


def marked_additions() -> dict[tuple[str, str], str]:
    out = {}
    for el in xsd_tree().iter():
        since = el.get(SINCE) if isinstance(el.tag, str) else None
        if not since:
            continue
        local = etree.QName(el).localname
        if local == "enumeration":
            assert el.getparent().getparent().get("name") == "KnownErrorCode", "only error codes are enumerations"
            out[("errorCode", el.get("value"))] = since
        else:
            out[(local, el.get("name"))] = since
    return out


def test_every_revision_addition_is_marked_in_the_xsd_and_nothing_else():
    assert marked_additions() == xmlproto.SINCE
    versions = [r.version for r in xmlproto.REVISIONS]
    assert versions == sorted(versions, key=xmlproto.version_key) and len(set(versions)) == len(versions)
    assert xsd_tree().get("version") == xmlproto.CURRENT_VERSION
    assert {c.value: c.since for c in xmlproto.ErrorCode if c.since != "1.0"} == {
        name: v for (kind, name), v in xmlproto.SINCE.items() if kind == "errorCode"}


def test_the_doc_lists_every_revision_with_its_additions():
    section = SPEC.read_text().split("## 6. Versioning", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(1\.\d+)` \| (.*?) \|$", section, flags=re.M))
    assert list(rows) == [r.version for r in xmlproto.REVISIONS]
    for revision in xmlproto.REVISIONS:
        for _, name in revision.additions:
            assert f"`{name}`" in rows[revision.version], (revision.version, name)
    assert f"Current revision | `{xmlproto.CURRENT_VERSION}`" in SPEC.read_text()


def test_the_schema_of_an_older_revision_lacks_exactly_what_came_later():
    def request(operation, **arguments):
        return parse(xmlproto.build_request(operation, request_id="r", **arguments))

    grant = request("grantPpvEvent", subscriber_id="s", event_id="e", purchase_id="p")
    update = request("updateSubscriber", subscriber=xmlproto.SubscriberSpec("s", True, frozenset(), login="a"))
    ping = request("ping")
    report = parse(xmlproto.build_ok("r", import_report={"applied": True, **{
        s: {k: [] for k in ("created", "updated", "retired", "unchanged")} for s in ("packages", "ppv_events")}}))
    expected = {"1.0": (ping,), "1.1": (ping, update, report), "1.2": (ping, update, report, grant)}
    for version, valid in expected.items():
        schema = xmlproto.schema_for(version)
        for doc in (ping, update, report, grant):
            assert schema.validate(doc) is any(doc is v for v in valid), (version, etree.tostring(doc)[:120])
    assert xmlproto.operation_version("grantPpvEvent") == "1.2" and xmlproto.operation_version("ping") == "1.0"
    assert xmlproto.supports("1.10", "grantPpvEvent") and not xmlproto.supports("1.1", "grantPpvEvent")


# -- extension slots wherever the doc promises them ------------------------------------------------------------


def test_every_structure_has_a_vendor_extension_slot():
    """Section 6 promises: every structure accepts trailing elements and attributes in another
    namespace. Every complex type (named or not) must end with xs:any ##other and allow ##other attributes."""
    missing = []
    for ctype in xsd_tree().iter(f"{XS}complexType"):
        where = ctype.get("name") or ctype.getparent().get("name")
        simple = ctype.find(f"{XS}simpleContent")
        holder = simple[0] if simple is not None else ctype
        if holder.find(f"{XS}anyAttribute[@namespace='##other']") is None:
            missing.append(f"{where}: attributes")
        if simple is None:
            sequence = ctype.find(f"{XS}sequence")
            last = sequence[-1] if sequence is not None and len(sequence) else None
            if last is None or last.tag != f"{XS}any" or last.get("namespace") != "##other":
                missing.append(f"{where}: trailing elements")
    assert missing == []


EXTENDED = (
    f'<request xmlns="{xmlproto.NS}" xmlns:x="urn:example:iptv" version="1.0" requestId="k" x:trace="t1">'
    '<setPackages subscriberId="tp-1" x:reason="upgrade"><packages x:n="1"><package id="basic" x:prio="1">'
    '<x:note>n</x:note></package></packages><x:why>upgrade</x:why></setPackages><x:trailer/></request>')


def test_vendor_extensions_are_accepted_everywhere_and_ignored():
    parsed = xmlproto.parse_request(EXTENDED.encode())
    assert (parsed.operation, parsed.subscriber_id, parsed.packages) == ("setPackages", "tp-1", frozenset({"basic"}))
    answer = (f'<response xmlns="{xmlproto.NS}" xmlns:x="urn:example:iptv" version="1.0" requestId="k">'
              '<ok x:node="a"><pong protocolVersion="1.2" x:build="77"><x:uptime>5</x:uptime></pong></ok>'
              '<x:trailer/></response>')
    assert xmlproto.parse_response(answer.encode()).pong["protocolVersion"] == "1.2"
    error = (f'<response xmlns="{xmlproto.NS}" xmlns:x="urn:example:iptv" version="1.0">'
             '<error code="BUSY" transient="true" x:retryAfter="5"><message>m</message><x:lock>s</x:lock></error>'
             '</response>')
    assert xmlproto.parse_response(error.encode()).error.code == "BUSY"
    with pytest.raises(XmlError):  # an extension in tripleplay's own namespace is not an extension
        xmlproto.parse_request(EXTENDED.replace("<x:trailer/>", "<trailer/>").encode())


# -- the modelled platforms' pages: a source for every public fact ---------------------------------------------


@pytest.mark.parametrize("page", ["matrixstream.md", "minerva.md", "telebreeze.md", "seachange.md"])
def test_a_modelled_platforms_public_facts_cite_their_source(page):
    text = (DOCS / "platforms" / page).read_text()
    assert "MODELLED" in text
    mentions = [m.start() for m in re.finditer(r"public fact", text, flags=re.I)]
    assert mentions, f"{page}: say which facts are public (with a source) and which are the model's"
    for start in mentions:
        chunk = text[start:].split("\n## ", 1)[0]
        assert re.search(r"<https://[^>\s]+>", chunk), f"{page}: a public fact without its source"
    assert "public material" not in text  # the old unsourced wording
