import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tripleplay.settings")
application = get_wsgi_application()

# Platform PPV calls skip Django's middleware stack (tripleplay/api/ppv_wsgi.py; docs/decisions.md D45).
if os.environ.get("TRIPLEPLAY_PPV_FAST_PATH", "1").strip().lower() not in ("0", "false", "no", "off"):
    from tripleplay.api.ppv_wsgi import PpvFastPath

    application = PpvFastPath(application)
