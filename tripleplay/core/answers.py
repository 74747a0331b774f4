"""The answer of a real-time call (a platform's PPV purchase or TV-screen order, a charging session's
start, update or stop): the body is the dict itself, ``http_status`` is for the edges (JSON, XML,
RADIUS) that send it."""

from __future__ import annotations


class Answer(dict):
    """What a client is told. ``http_status`` is for the edges; the body is the dict itself."""

    http_status = 200

    @classmethod
    def of(cls, http_status: int = 200, **fields) -> Answer:
        answer = cls(fields)
        answer.http_status = http_status
        return answer
