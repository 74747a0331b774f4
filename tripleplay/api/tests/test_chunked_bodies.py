"""Request bodies sent with Transfer-Encoding: chunked (no Content-Length), against the real servers
(`tripleplay serve` with gunicorn and with granian, on a temporary SQLite home): read like a body with a
Content-Length on the REST API, the lean PPV path (JSON and XML) and the XML endpoints, and refused
with the same 413 in the same shape when too large (tripleplay/api/chunked_wsgi.py, D96)."""

from __future__ import annotations

import json

import httpx
import pytest

from tripleplay.api.chunked_wsgi import ChunkedBody, read_bounded
from tripleplay.core.testing import home_env, migrate_and_seed, start_serve, stop_serve
from tripleplay.ppv.xmlproto import build_request, parse_answer

SEED = r"""
import json
import django; django.setup()
from tripleplay.access.services import create_api_client
from tripleplay.core.actors import Actor
from tripleplay.iptv.configuration import create_platform, issue_inbound_token

actor = Actor.system("test")
p = create_platform(actor, code="tv", name="TV", kind="matrixstream", base_url="http://127.0.0.1:9/",
                    username="u", secret="s", timeout_seconds="2")
print("SEED " + json.dumps({"admin": create_api_client(actor, name="chunked", role="admin")[1],
                            "platform": issue_inbound_token(actor, p)}))
"""

MIB = 1024 * 1024


def chunks(data: bytes, size: int = 4096):
    """An httpx body of unknown length: httpx sends it with Transfer-Encoding: chunked."""
    def gen():
        for i in range(0, len(data), size):
            yield data[i:i + size]
    return gen()


@pytest.fixture(scope="module", params=["gunicorn", "granian"])
def served(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"chunked_{request.param}")
    env = home_env(home)
    seed = migrate_and_seed(env, SEED)
    server, url = start_serve(env, home / "serve.log", server=request.param)
    try:
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            yield {"client": client, **seed}
    finally:
        stop_serve(server)


def _bearer(token: str, content_type: str = "application/json") -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


def _customers(served) -> int:
    r = served["client"].get("/api/v1/customers", headers=_bearer(served["admin"]))
    assert r.status_code == 200, r.text
    return r.json()["count"]


def test_a_chunked_json_body_is_read_by_the_api(served):
    body = json.dumps({"name": "Chunked Ltd", "currency": "EUR", "balance_model": "prepaid"}).encode()
    r = served["client"].post("/api/v1/customers", content=chunks(body, 7), headers=_bearer(served["admin"]))
    assert r.request.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in r.request.headers
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["name"], created["currency"], created["balance_model"]) == ("Chunked Ltd", "EUR", "prepaid")
    again = served["client"].get(f"/api/v1/customers/{created['id']}", headers=_bearer(served["admin"]))
    assert again.json()["name"] == "Chunked Ltd"


@pytest.mark.parametrize("size", [MIB + 1, 20 * MIB])
def test_a_chunked_body_over_the_limit_is_413_as_with_a_content_length(served, size):
    before = _customers(served)
    shape = {"name": "", "currency": "EUR", "balance_model": "prepaid"}
    body = json.dumps({**shape, "name": "x" * (size - len(json.dumps(shape)))}).encode()
    assert len(body) == size
    # Each on a connection of its own: gunicorn 27 drops a keep-alive connection on the request that
    # follows a refused (unread) body, with or without chunks.
    headers = {**_bearer(served["admin"]), "Connection": "close"}
    chunked = served["client"].post("/api/v1/customers", content=chunks(body, 64 * 1024), headers=headers)
    sized = served["client"].post("/api/v1/customers", content=body, headers=headers)
    assert chunked.status_code == sized.status_code == 413, chunked.text
    assert chunked.json() == sized.json() == {"error": {"code": "payload_too_large",
                                                        "message": "the request body is too large", "details": {}}}
    assert _customers(served) == before


def test_an_empty_chunked_body_is_an_empty_body(served):
    chunked = served["client"].post("/api/v1/customers", content=chunks(b""), headers=_bearer(served["admin"]))
    sized = served["client"].post("/api/v1/customers", content=b"", headers=_bearer(served["admin"]))
    assert chunked.status_code == sized.status_code == 422
    assert chunked.json() == sized.json()


def test_a_chunked_ppv_call_is_answered_by_the_lean_path(served):
    body = json.dumps({"transaction_id": "t-chunked-1", "subscriber": "tp-nobody", "event_id": "fight"}).encode()
    r = served["client"].post("/api/v1/ppv/authorize", content=chunks(body, 5), headers=_bearer(served["platform"]))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["result"], answer["code"], answer["transaction_id"], answer["subscriber"]) == (
        "declined", "unknown_subscriber", "t-chunked-1", "tp-nobody")


def test_a_chunked_xml_ppv_call_is_read_and_an_oversized_one_refused(served):
    document = build_request("authorize", transaction_id="t-chunked-2", subscriber="tp-nobody", event_id="fight")
    headers = {**_bearer(served["platform"], "application/xml"), "Connection": "close"}
    r = served["client"].post("/xml/v1/ppv", content=chunks(document, 9), headers=headers)
    assert r.status_code == 200, r.text
    answer = parse_answer(r.content)
    assert (answer["result"], answer["code"], answer["transaction_id"]) == ("declined", "unknown_subscriber", "t-chunked-2")

    big = document.replace(b"t-chunked-2", b"t" * 100) + b" " * (70 * 1024)
    chunked = served["client"].post("/xml/v1/ppv", content=chunks(big, 8192), headers=headers)
    sized = served["client"].post("/xml/v1/ppv", content=big, headers=headers)
    assert chunked.status_code == sized.status_code == 413, chunked.text
    assert chunked.content == sized.content and b'code="TOO_LARGE"' in chunked.content


# -- the wrapper itself (no server) ---------------------------------------------------------------------------


class _Pieces:
    """A wsgi.input that returns at most ``piece`` bytes a read (as servers do) and counts what was read."""

    def __init__(self, data: bytes, piece: int):
        self.data, self.piece, self.read_bytes = data, piece, 0

    def read(self, size: int = -1) -> bytes:
        size = self.piece if size is None or size < 0 else min(size, self.piece)
        out = self.data[self.read_bytes:self.read_bytes + size]
        self.read_bytes += len(out)
        return out


@pytest.mark.parametrize(("size", "bound", "expected"), [
    (0, 10, 0), (10, 10, 10), (11, 10, 11), (10_000, 10, 11), (100_000, 65_536 * 2, 100_000),
])
def test_read_bounded_reads_the_body_or_one_byte_past_the_bound(size, bound, expected):
    stream = _Pieces(b"a" * size, 1000)
    assert len(read_bounded(stream, bound)) == expected == stream.read_bytes


def test_the_wrapper_gives_a_chunked_body_a_length_and_leaves_other_requests_alone():
    seen = []

    def app(environ, start_response):
        seen.append((environ.get("CONTENT_LENGTH"), environ["wsgi.input"].read()))
        return [b""]

    wrapped = ChunkedBody(app, bound=100)
    wrapped({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": _Pieces(b"b" * 50, 7)}, None)
    wrapped({"HTTP_TRANSFER_ENCODING": "gzip, chunked", "wsgi.input": _Pieces(b"c" * 500, 7)}, None)
    untouched = _Pieces(b"d" * 5, 7)
    wrapped({"CONTENT_LENGTH": "5", "wsgi.input": untouched}, None)
    assert seen[0] == ("50", b"b" * 50)
    assert seen[1] == ("101", b"c" * 101)
    assert seen[2] == ("5", b"ddddd")
