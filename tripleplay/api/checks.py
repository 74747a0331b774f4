"""System check: the lean PPV path (tripleplay/api/ppv_wsgi.py) still does what the middleware it
skips would do for a platform's PPV call.

That path answers before every middleware. It was written against MIRRORED_MIDDLEWARE and reimplements
what of it concerns a token-authenticated POST: the Host check (ALLOWED_HOSTS, DEBUG,
USE_X_FORWARDED_HOST), the body size limit (DATA_UPLOAD_MAX_MEMORY_SIZE), HTTPS (SECURE_PROXY_SSL_HEADER
decides what is secure; SECURE_SSL_REDIRECT hands a plain-HTTP call to Django, which redirects it; HSTS:
SECURE_HSTS_SECONDS, _INCLUDE_SUBDOMAINS, _PRELOAD) and the security headers
(SECURE_CONTENT_TYPE_NOSNIFF, SECURE_REFERRER_POLICY, SECURE_CROSS_ORIGIN_OPENER_POLICY,
X_FRAME_OPTIONS), all read from settings. Anything of the middleware it does not reimplement must
keep the value it was written against (UNMIRRORED_SETTINGS): a redirect to www, say, would silently
not apply to PPV calls. A change to either fails ``manage.py check`` (and so
``tripleplay serve`` and the test suite) until ppv_wsgi.py mirrors it and these lists are updated, or the
lean path is turned off (TRIPLEPLAY_PPV_FAST_PATH=0).
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

MIRRORED_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Acts only on a response to a login that django-axes locked out (during Django's authenticate(),
    # which a platform's token-authenticated PPV call never runs): nothing to do on the lean path.
    "axes.middleware.AxesMiddleware",
)

# Settings the middleware above acts on that ppv_wsgi.py does not reimplement, with the values under
# which doing nothing is what the middleware does for a PPV call.
UNMIRRORED_SETTINGS = {
    "PREPEND_WWW": False,  # CommonMiddleware would redirect
    "DISALLOWED_USER_AGENTS": [],  # CommonMiddleware would answer 403
    "FORCE_SCRIPT_NAME": None,  # the lean path serves only requests without a script name
}


@register(Tags.security, deploy=False)
def check_ppv_fast_path(app_configs=None, *, lean_aaa: bool = False, **kwargs) -> list[Error]:
    if not settings.TRIPLEPLAY_PPV_FAST_PATH and not lean_aaa:
        return []
    errors = []
    middleware = tuple(settings.MIDDLEWARE)
    if middleware != MIRRORED_MIDDLEWARE:
        added = [m for m in middleware if m not in MIRRORED_MIDDLEWARE]
        removed = [m for m in MIRRORED_MIDDLEWARE if m not in middleware]
        change = "; ".join(filter(None, [added and f"added {', '.join(added)}",
                                         removed and f"removed {', '.join(removed)}"])) or "reordered"
        errors.append(Error(
            f"settings.MIDDLEWARE differs from the list the lean PPV path was written against ({change})",
            hint="tripleplay/api/ppv_wsgi.py answers platform PPV calls before any middleware: make it do what "
                 "the change does for such a call, then update MIRRORED_MIDDLEWARE in tripleplay/api/checks.py; "
                 "or set TRIPLEPLAY_PPV_FAST_PATH=0.",
            id="api.E001"))
    for name, expected in UNMIRRORED_SETTINGS.items():
        value = getattr(settings, name, expected)
        if value != expected:
            errors.append(Error(
                f"settings.{name} is {value!r}; the lean PPV path does not mirror it and assumes {expected!r}",
                hint="make tripleplay/api/ppv_wsgi.py do what the middleware does with it, then update "
                     "UNMIRRORED_SETTINGS in tripleplay/api/checks.py; or set TRIPLEPLAY_PPV_FAST_PATH=0.",
                id="api.E002"))
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if type(limit) is not int or limit <= 0:
        errors.append(Error(
            f"settings.DATA_UPLOAD_MAX_MEMORY_SIZE is {limit!r}; the lean PPV path needs a positive byte limit",
            hint="tripleplay/api/ppv_wsgi.py hands larger bodies to Django by this limit.",
            id="api.E003"))
    return errors


@register(Tags.security, deploy=False)
def check_aaa_fast_path(app_configs=None, **kwargs) -> list[Error]:
    """The lean AAA path (tripleplay/api/aaa_wsgi.py) skips the same middleware for FreeRADIUS's calls
    and mirrors it with the PPV path's code: held by the same lists (reported once when both are on).
    Turned off by TRIPLEPLAY_AAA_FAST_PATH=0."""
    if not getattr(settings, "TRIPLEPLAY_AAA_FAST_PATH", False) or settings.TRIPLEPLAY_PPV_FAST_PATH:
        return []
    return check_ppv_fast_path(lean_aaa=True)
