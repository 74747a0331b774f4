"""PPV decisions by call and result, with latency: a Counter.inc and a Histogram.observe per call,
nothing else (the calls are a benchmarked hot path). The counts live in each process's memory
(each web process reports its own; Prometheus sums them over the scrape targets), or, with
PROMETHEUS_MULTIPROC_DIR set before the process starts, in prometheus_client's shared files
(docs/operations.md, Metrics; D71)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from tripleplay.core.metrics import DECISION_BUCKETS, measured_by

DECISIONS = Counter("tripleplay_ppv_decisions", "PPV calls by call and result (approved, declined, confirmed, "
                    "error ...: the answer's result field; error also for refused requests)", ["call", "result"])
LATENCY = Histogram("tripleplay_ppv_decision_seconds", "Time to answer a PPV call inside the service", ["call"],
                    buckets=DECISION_BUCKETS)


def measured(call: str):
    """Count and time ``call``'s answers (core.metrics.measured_by)."""
    return measured_by(DECISIONS, LATENCY, call)
