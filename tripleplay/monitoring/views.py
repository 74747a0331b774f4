"""/healthz, /readyz and /metrics (docs/operations.md, D71)."""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from tripleplay.monitoring.collector import DatabaseCollector
from tripleplay.monitoring.readiness import readiness

DATABASE_REGISTRY = CollectorRegistry(auto_describe=False)
DATABASE_REGISTRY.register(DatabaseCollector())


@never_cache
def healthz(request):
    """Liveness: the process answers (no database: a database outage must not get every web process
    restarted; /readyz reports it). The body names the database vendor as it always has."""
    return JsonResponse({"status": "ok", "database": connection.vendor})


@never_cache
def readyz(request):
    result = readiness()
    if result.ready:
        return JsonResponse({"status": "ready", "checks": result.checks})
    return JsonResponse({"status": "unready", "failed": result.failed, "checks": result.checks}, status=503)


def _in_process_registry():
    """This process's counters, or with PROMETHEUS_MULTIPROC_DIR set, every process's (prometheus_client's
    multiprocess mode: the server must clear that directory at start)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorized(request) -> bool:
    token = settings.TRIPLEPLAY_METRICS_TOKEN
    if not token:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
def metrics(request):
    if not _authorized(request):
        response = HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = generate_latest(_in_process_registry()) + generate_latest(DATABASE_REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
