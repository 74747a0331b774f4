"""Who acts: the actors every service records (kind, ref, name, role)."""

from __future__ import annotations

from types import SimpleNamespace

from tripleplay.core.actors import Actor, ActorKind


def test_a_platform_acts_as_an_api_client_named_by_its_id_and_code_without_a_role():
    # PPV, TV-screen orders and a pushed catalog record the platform so
    actor = Actor.platform(SimpleNamespace(pk=7, code="ministra-east"))
    assert (actor.kind, actor.ref, actor.name, actor.role) == (ActorKind.API_CLIENT, "platform:7",
                                                               "platform ministra-east", None)
    assert str(actor) == "api_client:platform ministra-east"
    assert actor == Actor.platform(SimpleNamespace(pk=7, code="ministra-east"))
    assert actor != Actor.platform(SimpleNamespace(pk=8, code="ministra-east"))
