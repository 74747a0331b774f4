"""Real-time charging decisions by call and result, with latency, as the PPV calls have
(tripleplay/ppv/metrics.py): a Counter.inc and a Histogram.observe per call, nothing else (the calls
are a hot path). Per process, or shared with PROMETHEUS_MULTIPROC_DIR (docs/operations.md, Metrics)."""

from __future__ import annotations

import functools
from time import perf_counter

from prometheus_client import Counter, Histogram

DECISIONS = Counter("tripleplay_session_decisions", "Charging session calls (start, update, stop) by result "
                    "(the answer's result field: granted, refused, ended ...; error for a refused request)",
                    ["call", "result"])
LATENCY = Histogram("tripleplay_session_decision_seconds", "Time to answer a charging session call inside the "
                    "service", ["call"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                  1.0, 2.5))


def measured(call: str):
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
