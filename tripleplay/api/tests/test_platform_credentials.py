"""The one parser of a platform's Authorization header (tripleplay/api/auth.py), used by the JSON PPV
endpoints, the XML endpoints and the lean PPV path."""

import base64

import pytest

from tripleplay.api.auth import PlatformCredentials, platform_credentials


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("header, allow_basic, expected", [
    ("Bearer tpp_abc", True, PlatformCredentials("tpp_abc", None)),
    ("bearer   tpp_abc  ", False, PlatformCredentials("tpp_abc", None)),
    ("Bearer", True, PlatformCredentials("", None)),
    (basic("ppvtv:tpp_abc"), True, PlatformCredentials("tpp_abc", "ppvtv")),
    (basic("ppvtv:tpp:with:colons"), True, PlatformCredentials("tpp:with:colons", "ppvtv")),
    (basic("ppvtv:tpp_abc"), False, None),  # the JSON endpoints and the lean path take bearer tokens only
    ("Basic not-base64!", True, None),
    ("Basic " + base64.b64encode(b"\xff:x").decode(), True, None),
    ("Token tpp_abc", True, None),
    ("", True, None),
    (None, True, None),
])
def test_platform_credentials(header, allow_basic, expected):
    assert platform_credentials(header, basic=allow_basic) == expected
