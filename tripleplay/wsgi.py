import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tripleplay.settings")
application = get_wsgi_application()

# FreeRADIUS's rlm_rest calls skip Django's middleware stack too (tripleplay/api/aaa_wsgi.py; docs/radius.md, Performance).
if settings.TRIPLEPLAY_AAA_FAST_PATH:
    from tripleplay.api.aaa_wsgi import AaaFastPath

    application = AaaFastPath(application)

# Platform PPV calls skip Django's middleware stack (tripleplay/api/ppv_wsgi.py; docs/decisions.md D45).
if settings.TRIPLEPLAY_PPV_FAST_PATH:
    from tripleplay.api.ppv_wsgi import PpvFastPath

    application = PpvFastPath(application)

# A chunked body (no Content-Length) is read here, bounded, for everything below (api/chunked_wsgi.py, D96).
from tripleplay.api.chunked_wsgi import ChunkedBody  # noqa: E402

application = ChunkedBody(application)

# Outermost, so that the PPV calls' log lines carry the id too; not installed unless asked for.
if settings.TRIPLEPLAY_LOG_JSON:
    from tripleplay.core.logs import RequestId

    application = RequestId(application)
