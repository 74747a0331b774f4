"""JSON log lines with a request id, for log collectors (TRIPLEPLAY_LOG_JSON=1; docs/operations.md).

The request id is the incoming ``X-Request-ID`` (a proxy's, so one id follows the request through
nginx and here) when it looks sane, else a new one; it is answered in ``X-Request-ID`` and put on
every log line written while the request runs. Off by default: the WSGI wrapper is then not installed
at all, so the PPV hot path pays nothing for it."""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("tripleplay_request_id", default=None)
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        rid = request_id.get()
        if rid is not None:
            line["request_id"] = rid
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class RequestId:
    """WSGI middleware: sets the request id for the request's log lines and answers it."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        given = environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)

        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, ("X-Request-ID", rid)], exc_info)

        try:
            return self.app(environ, start)
        finally:
            request_id.reset(token)
