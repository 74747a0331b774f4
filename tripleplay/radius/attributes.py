"""Reply attributes per BRAS vendor (pure): what an Access-Accept carries for a product's internet
service. Names are FreeRADIUS dictionary names (/usr/share/freeradius/dictionary.mikrotik,
dictionary.huawei), answered to rlm_rest as ``reply:<name>``.

- Common (RFC 2865/2869): Session-Timeout, Idle-Timeout, Acct-Interim-Interval, Framed-Pool.
- MikroTik (RouterOS "RADIUS" manual, Mikrotik-Rate-Limit): ``"<rx>/<tx>"`` from the router's
  side of the subscriber's interface: rx is the subscriber's upload, tx its download, in k (kbit/s).
- Huawei (ME60/NE40E "RADIUS attributes" reference, vendor 2011): Huawei-Input-Average-Rate (the
  subscriber's upload) and Huawei-Output-Average-Rate (download), in bit/s; the pool is
  Huawei-Framed-Pool beside the standard Framed-Pool.
"""

from __future__ import annotations

from typing import NamedTuple


class ServiceAttributes(NamedTuple):
    download_kbps: int
    upload_kbps: int
    address_pool: str
    session_timeout_seconds: int
    idle_timeout_seconds: int
    interim_interval_seconds: int


def common(service: ServiceAttributes) -> dict[str, str]:
    out = {}
    if service.session_timeout_seconds:
        out["Session-Timeout"] = str(service.session_timeout_seconds)
    if service.idle_timeout_seconds:
        out["Idle-Timeout"] = str(service.idle_timeout_seconds)
    if service.interim_interval_seconds:
        out["Acct-Interim-Interval"] = str(service.interim_interval_seconds)
    if service.address_pool:
        out["Framed-Pool"] = service.address_pool
    return out


def mikrotik(service: ServiceAttributes) -> dict[str, str]:
    return {**common(service), "Mikrotik-Rate-Limit": f"{service.upload_kbps}k/{service.download_kbps}k"}


def huawei(service: ServiceAttributes) -> dict[str, str]:
    out = {**common(service), "Huawei-Input-Average-Rate": str(service.upload_kbps * 1000),
           "Huawei-Output-Average-Rate": str(service.download_kbps * 1000)}
    if service.address_pool:
        out["Huawei-Framed-Pool"] = service.address_pool
    return out


BY_VENDOR = {"mikrotik": mikrotik, "huawei": huawei}


def reply_attributes(vendor: str, service: ServiceAttributes) -> dict[str, str]:
    return BY_VENDOR[vendor](service)


def rate_attributes(vendor: str, download_kbps: int, upload_kbps: int) -> dict[str, str]:
    """The rate attributes alone, in the vendor's dictionary: what a CoA-Request for a speed change
    carries (RFC 5176 section 3.1: the new authorization, beside the session's identification)."""
    if vendor == "huawei":
        return {"Huawei-Input-Average-Rate": str(upload_kbps * 1000),
                "Huawei-Output-Average-Rate": str(download_kbps * 1000)}
    return {"Mikrotik-Rate-Limit": f"{upload_kbps}k/{download_kbps}k"}
