from __future__ import annotations

import pytest


@pytest.fixture
def endpoint(db, actor):
    """``endpoint(event_types=["*"], url=..., enabled=True)``: an endpoint and its secret."""
    from tripleplay.webhooks.services import create_endpoint

    def make(event_types=("*",), url="http://127.0.0.1:9/hook", **kw):
        return create_endpoint(actor, url=url, event_types=list(event_types), **kw)

    return make


def events_of(event_type: str | None = None) -> list:
    from tripleplay.webhooks.models import Event

    qs = Event.objects.order_by("id")
    return list(qs.filter(type=event_type) if event_type else qs)


def deliveries_of(ep) -> list[tuple[str, str]]:
    from tripleplay.webhooks.models import Delivery

    return list(Delivery.objects.filter(endpoint=ep).order_by("id").values_list("event__type", "status"))
