"""The one timer of the real-time calls (PPV, charging sessions): a Counter.inc and a Histogram.observe
per call, nothing else (the calls are benchmarked hot paths). The counts live in each process's memory,
or with PROMETHEUS_MULTIPROC_DIR in prometheus_client's shared files (docs/operations.md, Metrics; D71)."""

from __future__ import annotations

import functools
from time import perf_counter

from prometheus_client import Counter, Histogram

# Seconds: from half a millisecond (a cached refusal) to 2.5 s (a call stuck on a lock).
DECISION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def measured_by(decisions: Counter, latency: Histogram, call: str):
    """A decorator counting ``call``'s answers by their ``result`` field (``error`` when the call raised
    or answered none) in ``decisions`` and timing them in ``latency``. The labelled children are looked
    up once each and kept: ``labels()`` takes a lock and builds a tuple, a dict lookup does neither."""
    timer = latency.labels(call)
    by_result: dict[str, Counter] = {}

    def decorate(fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            started = perf_counter()
            result = "error"
            try:
                answer = fn(*args, **kwargs)
                result = answer.get("result") or "error"
                return answer
            finally:
                timer.observe(perf_counter() - started)
                counter = by_result.get(result)
                if counter is None:
                    counter = by_result[result] = decisions.labels(call, result)
                counter.inc()
        return timed
    return decorate
