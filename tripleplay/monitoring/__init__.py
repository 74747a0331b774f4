"""Watching a running installation (docs/operations.md, D71): /healthz (liveness), /readyz (readiness:
database, migrations, worker heartbeat, job freshness) and /metrics (Prometheus). An edge beside
api and web: it only reads, through the lower layers' selectors."""
