"""The address a request came from, for throttles and logs, behind zero or more reverse proxies.

Behind a proxy every request's REMOTE_ADDR is the proxy's, so a throttle per address would throttle
everybody at once. Each proxy in front appends the address it saw to X-Forwarded-For (nginx's
``$proxy_add_x_forwarded_for``); the last TRIPLEPLAY_PROXY_COUNT entries are therefore written by our
own proxies and the one just before them by the client's side, while anything further left is the
client's own claim and is never trusted. TRIPLEPLAY_PROXY_COUNT defaults to 1 with TRIPLEPLAY_HTTPS
(the deploy kit's nginx) and 0 otherwise (REMOTE_ADDR is the client)."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    meta = request.META
    proxies = settings.TRIPLEPLAY_PROXY_COUNT
    if proxies > 0:
        hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            candidate = hops[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass  # not an address: fall back to the connection's
    return meta.get("REMOTE_ADDR", "")[:45]
