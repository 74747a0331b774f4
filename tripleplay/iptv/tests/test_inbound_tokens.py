"""Platform inbound tokens: hashed, cached briefly per process, and a replacement or a disabled
platform takes effect at once in this process and within TOKEN_CACHE_SECONDS in others."""

from __future__ import annotations

import pytest

from tripleplay.core.actors import Actor
from tripleplay.iptv import configuration
from tripleplay.iptv.configuration import create_platform, issue_inbound_token, platform_for_inbound_token
from tripleplay.iptv.models import Platform


@pytest.fixture
def platform(db):
    actor = Actor.system("test")
    return create_platform(actor, code="tok", name="Tok", kind="generic_xml", base_url="http://127.0.0.1:9")


def test_only_the_hash_is_stored_and_the_token_authenticates(platform):
    token = issue_inbound_token(Actor.system("test"), platform)
    stored = Platform.objects.get(pk=platform.pk)
    assert token not in (stored.inbound_token_hash, stored.inbound_token_prefix) and len(stored.inbound_token_hash) == 64
    assert platform_for_inbound_token(token).pk == platform.pk
    assert platform_for_inbound_token(token + "x") is None
    assert platform_for_inbound_token("") is None


def test_a_replaced_token_or_a_disabled_platform_is_refused_at_once_in_this_process(platform):
    actor = Actor.system("test")
    old = issue_inbound_token(actor, platform)
    assert platform_for_inbound_token(old) is not None  # now cached
    new = issue_inbound_token(actor, platform)
    assert platform_for_inbound_token(old) is None
    assert platform_for_inbound_token(new).pk == platform.pk
    configuration.update_platform(actor, platform, enabled=False)
    assert platform_for_inbound_token(new) is None


def test_another_process_change_takes_effect_when_the_cache_entry_expires(platform, monkeypatch):
    token = issue_inbound_token(Actor.system("test"), platform)
    now = [1000.0]
    monkeypatch.setattr(configuration.time, "monotonic", lambda: now[0])
    assert platform_for_inbound_token(token) is not None
    # Another process disables the platform: this process does not hear of it ...
    Platform.objects.filter(pk=platform.pk).update(enabled=False)
    now[0] += configuration.TOKEN_CACHE_SECONDS - 0.1
    assert platform_for_inbound_token(token) is not None  # ... until its cache entry expires
    now[0] += 0.2
    assert platform_for_inbound_token(token) is None
    assert configuration.TOKEN_CACHE_SECONDS <= 5


def test_each_cached_hit_is_a_copy_of_its_own(platform):
    token = issue_inbound_token(Actor.system("test"), platform)
    platform_for_inbound_token(token)  # cached
    first, second = platform_for_inbound_token(token), platform_for_inbound_token(token)
    assert first is not second and first._state is not second._state
    assert first._state.fields_cache is not second._state.fields_cache
    stored = Platform.objects.get(pk=platform.pk)
    assert [getattr(first, f.attname) for f in Platform._meta.concrete_fields] \
        == [getattr(stored, f.attname) for f in Platform._meta.concrete_fields]
    assert (first._state.db, first._state.adding) == ("default", False)
    first.name = "changed by one request"
    first._state.fields_cache["x"] = 1
    third = platform_for_inbound_token(token)
    assert third.name == "Tok" and "x" not in third._state.fields_cache
