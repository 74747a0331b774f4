"""JSON log lines carry the request's id: the proxy's X-Request-ID when sane, else a new one."""

from __future__ import annotations

import io
import json
import logging

from tripleplay.core.logs import JsonFormatter, RequestId, request_id


def _run(headers: dict) -> tuple[list[dict], list[tuple[str, str]]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("tripleplay.test-logs")
    log.addHandler(handler)
    log.propagate = False
    answered = []

    def app(environ, start_response):
        log.warning("charging %s", "customer 7")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def start_response(status, headers, exc_info=None):
        answered.extend(headers)

    try:
        assert RequestId(app)({**headers}, start_response) == [b"ok"]
    finally:
        log.removeHandler(handler)
        log.propagate = True
    return [json.loads(line) for line in stream.getvalue().splitlines()], answered


def test_the_proxys_request_id_is_kept_and_answered():
    lines, headers = _run({"HTTP_X_REQUEST_ID": "nginx-4f2a.17"})
    assert [(x["level"], x["logger"], x["message"], x["request_id"]) for x in lines] == [
        ("WARNING", "tripleplay.test-logs", "charging customer 7", "nginx-4f2a.17"),
        ("ERROR", "tripleplay.test-logs", "failed", "nginx-4f2a.17")]
    assert "ValueError: boom" in lines[1]["exception"]
    assert ("X-Request-ID", "nginx-4f2a.17") in headers
    assert request_id.get() is None  # reset after the request


def test_a_missing_or_odd_request_id_is_replaced():
    for given in ({}, {"HTTP_X_REQUEST_ID": "two words\nand a newline"}):
        lines, headers = _run(given)
        rid = lines[0]["request_id"]
        assert len(rid) == 32 and rid == lines[1]["request_id"]
        assert ("X-Request-ID", rid) in headers


def test_outside_a_request_there_is_no_id():
    record = logging.LogRecord("tripleplay.x", logging.INFO, __file__, 1, "plain %d", (1,), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "plain 1" and "request_id" not in line
