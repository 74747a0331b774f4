"""PPV decisions by call and result, with latency: a Counter.inc and a Histogram.observe per call,
nothing else (the calls are a benchmarked hot path). The counts live in each process's memory
(each web process reports its own; Prometheus sums them over the scrape targets), or, with
PROMETHEUS_MULTIPROC_DIR set before the process starts, in prometheus_client's shared files
(docs/operations.md, Metrics; D71)."""

from __future__ import annotations

import functools
from time import perf_counter

from prometheus_client import Counter, Histogram

DECISIONS = Counter("tripleplay_ppv_decisions", "PPV calls by call and result (approved, declined, confirmed, "
                    "error ...: the answer's result field; error also for refused requests)", ["call", "result"])
LATENCY = Histogram("tripleplay_ppv_decision_seconds", "Time to answer a PPV call inside the service", ["call"],
                    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))


def measured(call: str):
    """Count and time ``call``'s answers. The labelled children are looked up once each and kept:
    ``labels()`` takes a lock and builds a tuple, a dict lookup does neither."""
    latency = LATENCY.labels(call)
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
                latency.observe(perf_counter() - started)
                counter = by_result.get(result)
                if counter is None:
                    counter = by_result[result] = DECISIONS.labels(call, result)
                counter.inc()
        return timed
    return decorate
