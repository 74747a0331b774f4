"""Internet access: NAS clients (FreeRADIUS learns them from here), network sessions with a
disconnect button, and the Disconnect-Request outbox with its dead letter."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from tripleplay.core.errors import InvalidInput
from tripleplay.radius import selectors, services
from tripleplay.radius.models import CommandStatus, SessionStatus, Vendor
from tripleplay.web.access import ADMINS, OPERATIONS, action, back, page
from tripleplay.web.views.common import paginate, show


def _port(value: str | None) -> int:
    try:
        return int((value or "3799").strip())
    except ValueError:
        raise InvalidInput("the CoA port must be a number", details={"field": "coa_port"}) from None


@page()
def network(request):
    status = request.GET.get("status") or SessionStatus.ACTIVE
    sessions = paginate(request, selectors.sessions(status=status if status != "all" else None))
    sessions.object_list = selectors.with_window_reports(sessions.object_list)  # as they are now (D295)
    return show(request, "network/index.html", "network", nas_clients=selectors.nas_clients(), vendors=Vendor.choices,
                sessions=sessions,
                status=status, commands=selectors.commands().exclude(status=CommandStatus.DONE)[:50])


@action(*ADMINS)
def nas_create(request):
    p = request.POST
    nas = services.create_nas(request.actor, name=p.get("name", ""), address=p.get("address", ""),
                              secret=p.get("secret", ""), vendor=p.get("vendor", ""), coa_port=_port(p.get("coa_port")),
                              timeout_seconds=p.get("timeout_seconds") or "3")
    messages.success(request, f"NAS {nas.name} added.")
    return redirect("web:network")


@action(*ADMINS)
def nas_update(request, nas_id: int):
    p = request.POST
    changes = {"vendor": p.get("vendor", ""), "coa_port": _port(p.get("coa_port")), "enabled": p.get("enabled") == "on"}
    if p.get("secret"):  # blank keeps the stored secret (it is never shown)
        changes["secret"] = p["secret"]
    if "session_source" in p:
        changes["session_source"] = p["session_source"]
    nas = services.update_nas(request.actor, selectors.nas(nas_id), **changes)
    messages.success(request, f"NAS {nas.name} saved.")
    return redirect("web:network")


@action(*OPERATIONS)
def session_disconnect(request, session_id: int):
    session = selectors.session(session_id)
    services.disconnect_session(request.actor, session, reason=request.POST.get("reason") or "operator")
    messages.success(request, f"Disconnect of {session.username} queued to {session.nas.name}.")
    return redirect(back(request, reverse("web:network")))  # the customer page's button comes back there


@action(*OPERATIONS)
def command_retry(request, command_id: int):
    command = services.retry_command(request.actor, selectors.command(command_id))
    what = "CoA" if command.kind == "coa" else "Disconnect"
    messages.success(request, f"{what} #{command.pk} queued again.")
    return redirect(back(request, reverse("web:network")))
