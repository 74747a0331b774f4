"""Real-time charging decisions by call and result, with latency, as the PPV calls have
(tripleplay/ppv/metrics.py): a Counter.inc and a Histogram.observe per call, nothing else (the calls
are a hot path). Per process, or shared with PROMETHEUS_MULTIPROC_DIR (docs/operations.md, Metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from tripleplay.core.metrics import DECISION_BUCKETS, measured_by

DECISIONS = Counter("tripleplay_session_decisions", "Charging session calls (start, update, stop) by result "
                    "(the answer's result field: granted, refused, ended ...; error for a refused request)",
                    ["call", "result"])
LATENCY = Histogram("tripleplay_session_decision_seconds", "Time to answer a charging session call inside the "
                    "service", ["call"], buckets=DECISION_BUCKETS)


def measured(call: str):
    """Count and time ``call``'s answers (core.metrics.measured_by)."""
    return measured_by(DECISIONS, LATENCY, call)
