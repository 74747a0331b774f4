"""Webhooks: endpoints (admins register, change and rotate; the secret is shown once), their deliveries
with every attempt, replays (admin and finance). docs/webhooks.md."""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect

from tripleplay.core.errors import InvalidInput
from tripleplay.web.access import ADMINS, OPERATIONS, action, page
from tripleplay.web.views.common import paginate, show
from tripleplay.webhooks import selectors, services
from tripleplay.webhooks.models import DeliveryStatus
from tripleplay.webhooks.policy import ALL, EVENT_TYPES


def _form(request) -> dict:
    p = request.POST
    types = p.getlist("event_types")
    try:
        timeout = int((p.get("timeout_seconds") or "10").strip())
    except ValueError:
        raise InvalidInput("timeout must be a whole number of seconds", details={"field": "timeout_seconds"}) from None
    return {"url": p.get("url", ""), "description": p.get("description", ""),
            "event_types": [ALL] if p.get("all_events") == "on" else types, "timeout_seconds": timeout}


@page()
def endpoint_list(request):
    return show(request, "webhooks/list.html", "webhooks", endpoints=selectors.endpoints(), event_types=EVENT_TYPES)


@action(*ADMINS)
def endpoint_create(request):
    made = services.create_endpoint(request.actor, **_form(request), enabled=request.POST.get("enabled") == "on")
    # Shown on this response only, never put in a message (messages may travel in a cookie).
    return show(request, "webhooks/secret.html", "webhooks", endpoint=made.endpoint, secret=made.secret, created=True)


@page()
def endpoint_detail(request, endpoint_id: int):
    ep = selectors.endpoint(endpoint_id)
    status = request.GET.get("status") or None
    if status not in (None, *DeliveryStatus.values):
        status = None
    deliveries = paginate(request, selectors.deliveries(endpoint_id=ep.pk, status=status))
    return show(request, "webhooks/detail.html", "webhooks", endpoint=ep, page=deliveries, status=status,
                statuses=DeliveryStatus.values, event_types=EVENT_TYPES)


@action(*ADMINS)
def endpoint_update(request, endpoint_id: int):
    ep = services.update_endpoint(request.actor, selectors.endpoint(endpoint_id), **_form(request),
                                  enabled=request.POST.get("enabled") == "on")
    messages.success(request, f"Endpoint {ep.url} saved.")
    return redirect("web:webhook", ep.pk)


@action(*ADMINS)
def endpoint_rotate(request, endpoint_id: int):
    made = services.rotate_secret(request.actor, selectors.endpoint(endpoint_id))
    return show(request, "webhooks/secret.html", "webhooks", endpoint=made.endpoint, secret=made.secret, created=False)


@page()
def delivery_detail(request, delivery_id: int):
    d = selectors.delivery(delivery_id)
    return show(request, "webhooks/delivery.html", "webhooks", delivery=d, attempts=selectors.attempts(d),
                payload=json.dumps(d.event.payload, indent=2, sort_keys=True))


@action(*OPERATIONS)
def delivery_replay(request, delivery_id: int):
    d = services.replay_delivery(request.actor, selectors.delivery(delivery_id))
    messages.success(request, f"Delivery #{d.pk} will be sent again.")
    return redirect("web:webhook_delivery", d.pk)


@action(*OPERATIONS)
def event_replay(request, event_id: int):
    sent = services.replay_event(request.actor, selectors.event(event_id))
    messages.success(request, f"Event sent again to {len(sent)} endpoint(s).")
    delivery = request.POST.get("delivery", "")
    if delivery.isdigit():  # back to the delivery page the form was on
        return redirect("web:webhook_delivery", int(delivery))
    return redirect("web:webhooks")
