"""Operator logins are throttled (django-axes, settings.py): the fifth failure for one username or
from one client address is answered 429, and so is every attempt after it, even with the right password; the
address is the client's behind the proxy (core/clientip.py), never the proxy's."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from tripleplay.core.clientip import client_address

pytestmark = pytest.mark.django_db
PASSWORD = "throttle-test-pw-1"


@pytest.fixture
def operators(actor, settings):
    from tripleplay.access.services import create_operator

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {name: create_operator(actor, username=name, password=PASSWORD, role="admin") for name in ("ann", "ben")}


def attempt(client: Client, username: str, password: str, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def logged_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_five_wrong_passwords_lock_the_username_even_for_the_right_one(operators):
    for n in range(4):
        assert attempt(Client(REMOTE_ADDR=f"192.0.2.{n + 1}"), "ann", "wrong").status_code == 200  # the form again
    assert attempt(Client(REMOTE_ADDR="192.0.2.5"), "ann", "wrong").status_code == 429
    client = Client(REMOTE_ADDR="192.0.2.99")
    locked = attempt(client, "ann", PASSWORD)
    assert locked.status_code == 429 and b"Too many failed logins" in locked.content
    assert not logged_in(client)
    other = Client(REMOTE_ADDR="192.0.2.99")  # another operator from a fresh address is not affected
    assert attempt(other, "ben", PASSWORD).status_code == 302 and logged_in(other)


def test_one_address_trying_many_usernames_is_locked(operators):
    client = Client(REMOTE_ADDR="198.51.100.7")
    for name in ("a1", "a2", "a3", "a4"):
        assert attempt(client, name, "guess").status_code == 200
    assert attempt(client, "a5", "guess").status_code == 429
    assert attempt(client, "ben", PASSWORD).status_code == 429
    assert not logged_in(client)


def test_a_success_resets_the_count(operators):
    client = Client(REMOTE_ADDR="203.0.113.5")
    for _ in range(4):
        attempt(client, "ann", "wrong")
    assert attempt(client, "ann", PASSWORD).status_code == 302
    fresh = Client(REMOTE_ADDR="203.0.113.6")
    for _ in range(4):
        assert attempt(fresh, "ann", "wrong").status_code == 200
    assert attempt(fresh, "ann", PASSWORD).status_code == 302


def test_behind_the_proxy_the_clients_address_counts_not_the_proxys(operators, settings):
    settings.TRIPLEPLAY_PROXY_COUNT = 1
    for n in range(5):  # five clients, one failure each, all through the same proxy (127.0.0.1)
        attempt(Client(REMOTE_ADDR="127.0.0.1"), f"user{n}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 1}")
    client = Client(REMOTE_ADDR="127.0.0.1")
    assert attempt(client, "ben", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.77").status_code == 302
    # a client claiming another address in front of the proxy's entry changes nothing: the last one counts
    for _ in range(5):
        attempt(Client(REMOTE_ADDR="127.0.0.1"), "x", "wrong", HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.50")
    assert attempt(Client(REMOTE_ADDR="127.0.0.1"), "ann", PASSWORD,
                   HTTP_X_FORWARDED_FOR="10.1.1.1, 192.0.2.50").status_code == 429


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), [
    (0, "192.0.2.1", "10.0.0.1", "192.0.2.1"),  # no proxy: the header is the client's claim, ignored
    (1, "127.0.0.1", "10.0.0.1, 198.51.100.2", "198.51.100.2"),  # the entry our nginx appended
    (2, "127.0.0.1", "10.0.0.1, 198.51.100.2, 192.0.2.9", "198.51.100.2"),  # a balancer, then nginx
    (1, "127.0.0.1", "", "127.0.0.1"),  # no header: the connection's address
    (1, "127.0.0.1", "not-an-address", "127.0.0.1"),
    (2, "127.0.0.1", "198.51.100.2", "127.0.0.1"),  # fewer hops than proxies: nothing to trust
])
def test_client_address(settings, proxies, remote, forwarded, expected):
    settings.TRIPLEPLAY_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
