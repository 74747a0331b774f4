from __future__ import annotations

import random

import pytest

from tripleplay.webhooks import policy
from tripleplay.webhooks.policy import RetryPolicy


@pytest.mark.parametrize("attempts, low, high", [(1, 2.5, 7.5), (2, 5, 15), (3, 10, 30), (11, 2560, 7680), (12, 5120, 15360),
                                                 (40, 7200, 21600)])
def test_backoff_doubles_with_jitter_and_a_cap(attempts, low, high):
    rng = random.Random(7)
    for _ in range(50):
        assert low <= RetryPolicy().delay(attempts, rng).total_seconds() < high


@pytest.mark.parametrize("attempts, gives_up", [(1, False), (11, False), (12, True), (13, True)])
def test_dead_letter_after_max_attempts(attempts, gives_up):
    assert RetryPolicy().gives_up(attempts) is gives_up


@pytest.mark.parametrize("code, ok", [(200, True), (204, True), (299, True), (301, False), (400, False),
                                      (500, False), (None, False)])
def test_success_is_2xx(code, ok):
    assert policy.succeeded(code) is ok


@pytest.mark.parametrize("url, problem", [
    ("https://crm.example.com/hooks", None),
    ("http://127.0.0.1:8080/x?y=1", None),
    ("ftp://example.com/", "must start with http:// or https://"),
    ("example.com/hook", "must start with http:// or https://"),
    ("https:///path", "must name a host"),
    ("https://user:pw@example.com/", "must not carry credentials (the signature authenticates the sender)"),
    ("https://example.com:99999/", "is not a valid URL"),
    ("https://example.com/a b", "must not contain spaces"),
])
def test_url_problems(url, problem):
    assert policy.url_problem(url) == problem


@pytest.mark.parametrize("types, problem", [
    (["*"], None),
    (["invoice.paid", "ppv.purchased"], None),
    ([], "must list at least one event type, or '*' for all"),
    (["invoice.paid", "nope"], "has unknown event types: nope"),
])
def test_event_type_problems(types, problem):
    assert policy.event_types_problem(types) == problem


def test_normalized_types():
    assert policy.normalized_types(["ppv.purchased", "invoice.paid", "ppv.purchased"]) == ["invoice.paid",
                                                                                            "ppv.purchased"]
    assert policy.normalized_types(["invoice.paid", "*"]) == ["*"]
