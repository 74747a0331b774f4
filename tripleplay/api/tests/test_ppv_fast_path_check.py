"""The system check that keeps the lean PPV path (tripleplay/api/ppv_wsgi.py) in step with the
middleware and security settings it answers in front of (tripleplay/api/checks.py), and the
settings switch of the path itself."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from tripleplay.api.checks import MIRRORED_MIDDLEWARE, check_ppv_fast_path
from tripleplay.api.chunked_wsgi import ChunkedBody
from tripleplay.api.ppv_wsgi import PpvFastPath


def ids(errors) -> list[str]:
    return [e.id for e in errors]


def test_the_shipped_settings_pass():
    assert tuple(settings.MIDDLEWARE) == MIRRORED_MIDDLEWARE
    assert check_ppv_fast_path() == []
    call_command("check")  # raises SystemCheckError on any error


def test_a_middleware_added_fails_and_says_which():
    with override_settings(MIDDLEWARE=[*MIRRORED_MIDDLEWARE, "example.RateLimitMiddleware"]):
        errors = check_ppv_fast_path()
        assert ids(errors) == ["api.E001"]
        assert "added example.RateLimitMiddleware" in errors[0].msg
        with pytest.raises(SystemCheckError, match="api.E001"):
            call_command("check")


def test_a_middleware_removed_fails():
    without_csrf = [m for m in MIRRORED_MIDDLEWARE if "csrf" not in m]
    with override_settings(MIDDLEWARE=without_csrf):
        errors = check_ppv_fast_path()
    assert ids(errors) == ["api.E001"]
    assert "removed django.middleware.csrf.CsrfViewMiddleware" in errors[0].msg


def test_middleware_reordered_fails():
    with override_settings(MIDDLEWARE=list(reversed(MIRRORED_MIDDLEWARE))):
        errors = check_ppv_fast_path()
    assert ids(errors) == ["api.E001"]
    assert "(reordered)" in errors[0].msg


@pytest.mark.parametrize("name, value", [("PREPEND_WWW", True), ("DISALLOWED_USER_AGENTS", ["curl"]),
                                         ("FORCE_SCRIPT_NAME", "/billing")])
def test_a_security_setting_the_lean_path_does_not_mirror_fails(name, value):
    with override_settings(**{name: value}):
        errors = check_ppv_fast_path()
    assert ids(errors) == ["api.E002"]
    assert errors[0].msg.startswith(f"settings.{name} is {value!r}")


@pytest.mark.parametrize("limit", [None, 0])
def test_the_body_limit_must_be_a_number_of_bytes(limit):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=limit):
        assert ids(check_ppv_fast_path()) == ["api.E003"]


def test_settings_the_lean_path_reads_may_change():
    with override_settings(ALLOWED_HOSTS=["billing.example"], X_FRAME_OPTIONS="SAMEORIGIN",
                           SECURE_REFERRER_POLICY="no-referrer", DATA_UPLOAD_MAX_MEMORY_SIZE=4096,
                           # TRIPLEPLAY_HTTPS's settings: mirrored (test_ppv_fast_path.py, behind an HTTPS proxy)
                           SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=3600, SECURE_HSTS_PRELOAD=True,
                           SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        assert check_ppv_fast_path() == []


def test_with_the_lean_path_off_nothing_needs_mirroring():
    with override_settings(TRIPLEPLAY_PPV_FAST_PATH=False, MIDDLEWARE=["example.Other"], SECURE_SSL_REDIRECT=True):
        assert check_ppv_fast_path() == []


@pytest.mark.parametrize("on", [True, False])
def test_the_wsgi_application_follows_the_setting(on):
    from tripleplay import wsgi

    try:
        with override_settings(TRIPLEPLAY_PPV_FAST_PATH=on):
            importlib.reload(wsgi)
            assert isinstance(wsgi.application, ChunkedBody)  # outermost: chunked bodies get a length (D96)
            assert isinstance(wsgi.application.app, PpvFastPath) is on
    finally:
        importlib.reload(wsgi)
