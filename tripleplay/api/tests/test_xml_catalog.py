"""POST /xml/v1/catalog: a platform pushes its catalog; bad or malicious XML changes nothing."""

from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client
from lxml import etree

from tripleplay.core.actors import Actor
from tripleplay.iptv.configuration import create_platform, issue_inbound_token
from tripleplay.iptv.models import ChannelPackage, PpvEvent
from tripleplay.iptv.platforms.base import PackageInfo, PpvEventInfo
from tripleplay.iptv.xmlproto import NS, build_catalog

URL = "/xml/v1/catalog"
PACKAGES = [PackageInfo("basic", "Basic TV", "channel", "", ("news-1", "ent-1")),
            PackageInfo("sports", "Sports Pack", "channel", "", ("sport-1",)),
            PackageInfo("vod", "VOD", "service")]
EVENTS = [PpvEventInfo("fight", "Fight Night", 1999, "USD", content_owner="Ringside")]


@pytest.fixture
def platform(db):
    actor = Actor.system("test")
    p = create_platform(actor, code="push-tv", name="Push TV", kind="generic_xml", base_url="http://127.0.0.1:9")
    return p, issue_inbound_token(actor, p)


def push(body: bytes, token: str | None, *, content_type="application/xml", query="", auth=None):
    headers = {}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if auth:
        headers["HTTP_AUTHORIZATION"] = auth
    return Client().post(URL + query, data=body, content_type=content_type, **headers)


def error_of(response) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    err = root.find(f"{{{NS}}}error")
    return err.get("code"), err.findtext(f"{{{NS}}}message")


def counts(response) -> dict:
    root = etree.fromstring(response.content)
    report = root.find(f"{{{NS}}}ok/{{{NS}}}importReport")
    return {s: {k: int(v) for k, v in report.find(f"{{{NS}}}{s}").attrib.items()} for s in ("packages", "ppvEvents")}


def snapshot():
    return (sorted(ChannelPackage.objects.values_list("external_id", "name", "status")),
            sorted(PpvEvent.objects.values_list("external_id", "price_minor", "status")))


def test_push_creates_then_updates_and_retires(platform):
    p, token = platform
    r = push(build_catalog(PACKAGES, EVENTS), token)
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("application/xml")
    assert counts(r) == {"packages": {"created": 3, "updated": 0, "retired": 0, "unchanged": 0},
                         "ppvEvents": {"created": 1, "updated": 0, "retired": 0, "unchanged": 0}}
    assert snapshot() == ([("basic", "Basic TV", "active"), ("sports", "Sports Pack", "active"), ("vod", "VOD", "active")],
                          [("fight", 1999, "active")])
    assert ChannelPackage.objects.get(external_id="basic").channels == ["news-1", "ent-1"]

    r = push(build_catalog(PACKAGES, EVENTS), token)
    assert counts(r)["packages"] == {"created": 0, "updated": 0, "retired": 0, "unchanged": 3}

    changed = [PackageInfo("basic", "Basic TV HD", "channel"), PACKAGES[2]]
    dry = push(build_catalog(changed, []), token, query="?dry_run=1")
    assert counts(dry)["packages"] == {"created": 0, "updated": 1, "retired": 1, "unchanged": 1}
    assert snapshot()[0][0] == ("basic", "Basic TV", "active")  # dry run: nothing changed
    r = push(build_catalog(changed, []), token)
    assert counts(r) == {"packages": {"created": 0, "updated": 1, "retired": 1, "unchanged": 1},
                         "ppvEvents": {"created": 0, "updated": 0, "retired": 1, "unchanged": 0}}
    assert snapshot() == ([("basic", "Basic TV HD", "active"), ("sports", "Sports Pack", "retired"),
                           ("vod", "VOD", "active")], [("fight", 1999, "retired")])


def test_basic_auth_with_the_platform_code(platform):
    p, token = platform
    good = "Basic " + base64.b64encode(f"push-tv:{token}".encode()).decode()
    assert push(build_catalog(PACKAGES, []), None, auth=good).status_code == 200
    other = "Basic " + base64.b64encode(f"someone-else:{token}".encode()).decode()
    assert push(build_catalog(PACKAGES, []), None, auth=other).status_code == 401


@pytest.mark.parametrize("token", [None, "tpp_wrong", "tp_not-a-platform-token"])
def test_unauthenticated_pushes_are_refused(platform, token):
    r = push(build_catalog(PACKAGES, EVENTS), token)
    assert r.status_code == 401
    assert error_of(r)[0] == "AUTHENTICATION_FAILED"
    assert snapshot() == ([], [])


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<catalog xmlns="urn:tripleplay:iptv:1" version="1.0"><packages><package id="&lol9;" kind="channel">
<name>x</name></package></packages><ppvEvents/></catalog>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<catalog xmlns="urn:tripleplay:iptv:1" version="1.0"><packages><package id="a" kind="channel"><name>&x;</name>
</package></packages><ppvEvents/></catalog>"""


@pytest.mark.parametrize("body, status, detail", [
    (BILLION_LAUGHS, 400, "xml_dtd_forbidden"),
    (XXE, 400, "xml_dtd_forbidden"),
    (b"<catalog xmlns='urn:tripleplay:iptv:1'><packages>", 400, "invalid_xml"),
    (b"", 400, "invalid_xml"),
    (b"<other/>", 400, "catalog_not_a_catalog"),
    (build_catalog(PACKAGES, EVENTS).replace(b">1999<", b">19.99<"), 400, "catalog_bad_price"),
    (b"<catalog>" + b"x" * (1024 * 1024 + 10) + b"</catalog>", 413, "too_large"),
])
def test_bad_and_malicious_documents_change_nothing(platform, body, status, detail):
    p, token = platform
    started = time.monotonic()
    r = push(body, token)
    assert time.monotonic() - started < 2.0  # refused quickly, never expanded
    assert r.status_code == status, r.content
    code, message = error_of(r)
    assert code == "INVALID_REQUEST" and detail in message
    assert b"root:" not in r.content  # /etc/passwd never leaks
    assert snapshot() == ([], [])


def test_wrong_method_and_media_type(platform):
    p, token = platform
    r = Client().get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (r.status_code, r["Allow"]) == (405, "POST")
    r = push(b'{"packages": []}', token, content_type="application/json")
    assert (r.status_code, error_of(r)[0]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert snapshot() == ([], [])


# -- docs/platforms/generic_xml.md section 5 is the endpoint's whole contract --------------------------------------

SPEC = Path(__file__).resolve().parents[3] / "docs" / "platforms" / "generic_xml.md"


def _push_section() -> str:
    return SPEC.read_text().split("## 5. Catalog push", 1)[1].split("\n## ", 1)[0]


def _samples() -> list[str]:
    return re.findall(r"^```xml\n(.*?)^```", _push_section(), flags=re.S | re.M)


def _canonical(xml: bytes) -> bytes:
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True, remove_comments=True))
    return etree.tostring(root, method="c14n")


def test_the_documented_push_answers_with_the_documented_import_report(platform):
    p, token = platform
    catalog = next(s for s in _samples() if s.startswith("<catalog"))
    report = next(s for s in _samples() if "<importReport" in s)
    dry = push(catalog.encode(), token, query="?dry_run=1")
    assert dry.status_code == 200
    assert _canonical(dry.content) == _canonical(report.replace('applied="true"', 'applied="false"').encode())
    assert snapshot() == ([], [])
    r = push(catalog.encode(), token, query="?dry_run=true")
    assert snapshot() == ([], []) and b'applied="false"' in r.content
    r = push(catalog.encode(), token)
    assert (r.status_code, _canonical(r.content)) == (200, _canonical(report.encode()))
    assert snapshot() == ([("basic", "Basic TV", "active"), ("vod-plus", "VOD Plus", "active")],
                          [("fight-night", 1999, "active"), ("premiere-42", 800, "active")])


def _documented_refusals() -> set[tuple[int, str, str]]:
    rows = re.findall(r"^\| (\d{3}) \| `([A-Z_]+)` \| `([^`]+)` \|", _push_section(), flags=re.M)
    return {(int(status), code, prefix) for status, code, prefix in rows}


def _refusal_cases(token: str):
    c = Client()
    good = build_catalog(PACKAGES, EVENTS)
    basic_other = "Basic " + base64.b64encode(f"someone-else:{token}".encode()).decode()
    bad = build_catalog(PACKAGES, EVENTS)
    return {
        "method": lambda: c.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}"),
        "no token": lambda: push(good, None),
        "other code": lambda: push(good, None, auth=basic_other),
        "too large": lambda: push(b"<catalog>" + b"x" * (1024 * 1024 + 10) + b"</catalog>", token),
        "empty": lambda: c.post(URL, data=b"", content_type="application/xml", HTTP_AUTHORIZATION=f"Bearer {token}"),
        "media type": lambda: push(b"{}", token, content_type="application/json"),
        "dtd": lambda: push(XXE, token),
        "malformed": lambda: push(good[:-5], token),
        "not a catalog": lambda: push(f'<catalog xmlns="{NS[:-1]}2" version="2.0"/>'.encode(), token),
        "missing field": lambda: push(good.replace(b"<name>Basic TV</name>", b""), token),
        "price": lambda: push(bad.replace(b">1999<", b">19.99<"), token),
        "currency": lambda: push(bad.replace(b'currency="USD"', b'currency="usd"'), token),
        "duplicate": lambda: push(build_catalog(PACKAGES + PACKAGES[:1], EVENTS), token),
        "window": lambda: push(build_catalog(PACKAGES, [PpvEventInfo(
            "w", "W", 1, "USD", datetime(2025, 6, 2, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC))]), token),
        "schema": lambda: push(good.replace(b'kind="service"', b'kind="radio"'), token),
        "unknown currency": lambda: push(bad.replace(b'currency="USD"', b'currency="XYZ"'), token),
    }


def test_every_documented_refusal_is_what_the_endpoint_answers_and_nothing_else(platform):
    p, token = platform
    seen = set()
    for case, call in _refusal_cases(token).items():
        r = call()
        code, message = error_of(r)
        documented = {row for row in _documented_refusals() if row[:2] == (r.status_code, code)
                      and message.startswith(row[2])}
        assert len(documented) == 1, (case, r.status_code, code, message)
        seen |= documented
    assert seen == _documented_refusals()  # every row of the doc's table is reached
    assert snapshot() == ([], [])


def test_a_catalog_of_revision_1_0_is_imported_and_answered_in_1_0(platform):
    from tripleplay.core.xml import parse_valid
    from tripleplay.iptv import xmlproto

    p, token = platform
    r = push(build_catalog(PACKAGES, EVENTS, version="1.0"), token)
    assert r.status_code == 200
    root = etree.fromstring(r.content)
    assert root.get("version") == "1.0" and [etree.QName(c).localname for c in root.iter()] == ["response", "ok"]
    assert xmlproto.schema_for("1.0").validate(root)  # what a 1.0 platform validates against
    assert snapshot()[0] == [("basic", "Basic TV", "active"), ("sports", "Sports Pack", "active"),
                             ("vod", "VOD", "active")]  # imported all the same
    report = push(build_catalog(PACKAGES, EVENTS, version="1.1"), token)
    assert parse_valid(report.content, xmlproto.XSD_PATH).get("version") == "1.1"
    assert not xmlproto.schema_for("1.0").validate(etree.fromstring(report.content))
    assert counts(report)["packages"] == {"created": 0, "updated": 0, "retired": 0, "unchanged": 3}
