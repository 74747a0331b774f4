"""Order and balance calls by call and result, with latency (core.metrics.measured_by, as PPV's)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from tripleplay.core.metrics import DECISION_BUCKETS, measured_by

DECISIONS = Counter("tripleplay_order_decisions", "TV-screen order and balance calls by call and result (done, "
                    "declined, balance, error: the answer's result field)", ["call", "result"])
LATENCY = Histogram("tripleplay_order_decision_seconds", "Time to answer an order or balance call inside the service",
                    ["call"], buckets=DECISION_BUCKETS)


def measured(call: str):
    return measured_by(DECISIONS, LATENCY, call)
