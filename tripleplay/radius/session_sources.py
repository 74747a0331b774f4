"""Where the reconciliation reads a NAS's own view of its sessions (docs/radius.md, "Reconciliation",
D129): an adapter per kind of NAS, chosen by the scheme of the NAS's ``session_source``.

RADIUS gives billing no way to ask a NAS what it holds (RFC 5176 only changes or ends a session that
billing names), so each vendor's management interface is the source:

- ``sim+http://HOST:PORT``: the NAS simulator's ``GET /_sim/sessions`` (JSON). Simulator only.
- a real MikroTik would use the RouterOS API (TCP 8728/8729, ``/ppp/active/print``: ``name`` is the
  User-Name, ``session-id`` the Acct-Session-Id, ``address`` the Framed-IP-Address, ``uptime``) and
  ``/queue/simple/print`` for the rate in force (``max-limit`` "upload/download"); a Huawei BRAS its
  ``display access-user`` over NETCONF or the SNMP table hwAccessTable (HUAWEI-AAA-MIB). Neither is
  written yet: a NAS configured with such a source is reported, not reconciled.

An adapter returns every active session of the NAS as ``NasSession``; it raises ``SourceError`` when
the NAS could not be read (the reconciliation then changes nothing for that NAS: an unreadable NAS is
not a NAS without sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx


class NasSession(NamedTuple):
    session_id: str  # Acct-Session-Id
    username: str
    framed_ip: str | None
    input_octets: int
    output_octets: int
    session_time: int
    rate: tuple[int, int] | None  # (download, upload) kbit/s in force, None when the source does not say


class SourceError(Exception):
    pass


def _simulator(url: str, timeout: float) -> list[NasSession]:
    parts = urlsplit(url)
    base = f"http://{parts.netloc}"
    try:
        response = httpx.get(f"{base}/_sim/sessions", timeout=timeout, trust_env=False)
        response.raise_for_status()
        rows = response.json()["sessions"]
        return [NasSession(str(r["session_id"])[:64], str(r["username"])[:253], r.get("framed_ip"),
                           int(r.get("input_octets", 0)), int(r.get("output_octets", 0)), int(r.get("session_time", 0)),
                           (int(r["rate"]["download_kbps"]), int(r["rate"]["upload_kbps"])) if r.get("rate") else None)
                for r in rows]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
        raise SourceError(f"{base}: {type(e).__name__}: {e}") from None


def _not_written(url: str, timeout: float) -> list[NasSession]:
    raise SourceError(f"no adapter for {urlsplit(url).scheme!r} yet (docs/radius.md, Reconciliation)")


ADAPTERS: dict[str, Callable[[str, float], list[NasSession]]] = {
    "sim+http": _simulator,
    "routeros": _not_written,
    "routeros+tls": _not_written,
}


def read(source: str, timeout: float = 5.0) -> list[NasSession]:
    adapter = ADAPTERS.get(urlsplit(source).scheme)
    if adapter is None:
        raise SourceError(f"unknown session source {source!r}")
    return adapter(source, timeout)
