"""A django.test.Client that sends every request through the lean PPV path first
(tripleplay/api/ppv_wsgi.py) and only what that path hands over through Django, exactly as the WSGI
application does in production. The PPV API suites run once with each client."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.test import Client

from tripleplay.api import ppv_wsgi


class FastPathClient(Client):
    served: list[str] = []  # paths the lean path answered itself (class-wide, reset by the fixture)

    def request(self, **request):
        environ = self._base_environ(**request)
        # As Django's test handler does: the test's transaction is not a stale connection to close.
        upkeep, ppv_wsgi.connection_upkeep = ppv_wsgi.connection_upkeep, lambda: None
        try:
            out = ppv_wsgi.handle(environ)
        finally:
            ppv_wsgi.connection_upkeep = upkeep
        if out is None:  # handed over to Django, with the body the lean path may have read
            return super().request(**{**request, "wsgi.input": environ["wsgi.input"]})
        status, headers, body = out
        FastPathClient.served.append(environ["PATH_INFO"])
        response = HttpResponse(body, status=status)
        for name, value in headers:
            response[name] = value
        response.json = lambda: json.loads(response.content)
        return response
