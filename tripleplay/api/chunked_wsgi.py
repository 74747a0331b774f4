"""Request bodies sent with ``Transfer-Encoding: chunked`` (no Content-Length), read like any other.

A WSGI server hands such a body over with no ``CONTENT_LENGTH``; Django (and the lean PPV path,
api/ppv_wsgi.py) take a missing length for an empty body, so every chunked request was read as
empty ("empty document", "field required"), a 20 MiB one included. This wrapper, outermost in
tripleplay/wsgi.py, reads such a body from ``wsgi.input`` before anything else sees the request, up
to the largest body any endpoint accepts plus one byte, and hands the request on as if it had come
with a Content-Length:

- within that bound: ``CONTENT_LENGTH`` is the body's length and ``wsgi.input`` a buffer holding it;
  every size check downstream (Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``, the XML endpoints' limits,
  the PPV path's) then answers exactly as for the same body with a Content-Length;
- beyond it: the rest is not read (a 20 MiB body costs 1 MiB of memory, never 20), and the request
  goes on with ``CONTENT_LENGTH`` = bound + 1 and those bytes: it is larger than every limit, so
  each endpoint refuses it with its own 413 in its own shape (the API's error JSON, the XML
  endpoints' error documents), as it refuses a body whose Content-Length says it is too large.

The size limits and the error shapes thus stay where they were, in one place each (docs/decisions.md D96).
"""

from __future__ import annotations

import io

from django.conf import settings

from tripleplay.core.xml import DEFAULT_MAX_BYTES as XML_MAX_BYTES

READ_SIZE = 64 * 1024


def body_bound() -> int:
    """The largest body any endpoint accepts: the API's (and every form's) limit, the XML endpoints'."""
    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, XML_MAX_BYTES)


def is_chunked(environ) -> bool:
    """A body of unknown length: chunked transfer coding and no Content-Length (RFC 9112, 6.3)."""
    return not environ.get("CONTENT_LENGTH") and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def read_bounded(stream, bound: int) -> bytes:
    """At most ``bound`` + 1 bytes of ``stream``, read in pieces until it ends or passes ``bound``.

    Pieces, never one unbounded read(): granian's read() with no size after a partial read returns
    only what was buffered, and an unbounded read would hold a body of any size in memory."""
    parts, total = [], 0
    while total <= bound:
        piece = stream.read(min(READ_SIZE, bound + 1 - total))
        if not piece:
            break
        parts.append(piece)
        total += len(piece)
    return b"".join(parts)


class ChunkedBody:
    """WSGI middleware: a chunked request body becomes a body with a Content-Length (module docstring)."""

    def __init__(self, app, bound: int | None = None):
        self.app = app
        self.bound = bound

    def __call__(self, environ, start_response):
        if is_chunked(environ):
            body = read_bounded(environ["wsgi.input"], self.bound if self.bound is not None else body_bound())
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)
