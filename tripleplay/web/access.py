"""Who may see and do what in the operator web interface.

The rules are the REST API's (tripleplay.access.roles, shared with tripleplay.api.permissions),
imported rather than restated so the two can never drift: every page is for READERS (admin, finance,
support); customer, account, money and provisioning actions are for OPERATIONS (admin, finance);
catalog, platform configuration, package import and reconciliation are for ADMINS. Every view is
wrapped by ``page`` (GET) or ``action`` (POST only, CSRF by Django's middleware); a refusal is the 403
page, never a silent no-op.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from tripleplay.access.roles import ADMINS, OPERATIONS, READERS
from tripleplay.access.selectors import operator_actor
from tripleplay.core.actors import Actor, Role
from tripleplay.core.errors import DomainError, NotFound
from tripleplay.iptv.platforms.base import PlatformError
from tripleplay.money import AmountFormatError, CurrencyError

__all__ = ["ADMINS", "OPERATIONS", "READERS", "action", "page", "can"]


def _check(request, roles) -> Actor | None:
    """The operator's Actor; raises the 403 page for a role not in ``roles``. None: not logged in."""
    if not request.user.is_authenticated:
        return None
    actor = operator_actor(request.user)
    if actor.role is None:
        raise DjangoPermissionDenied("Your login has no operator role: ask an administrator to give you one.")
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise DjangoPermissionDenied(f"The {actor.role.value} role may not do this (allowed: {allowed}).")
    request.actor = actor
    return actor


def can(actor: Actor | None, what: str) -> bool:
    """For templates: may this actor do ``operations`` or ``admin`` actions? (Buttons only; the views check.)"""
    if actor is None or actor.role is None:
        return False
    return actor.role in {"operations": OPERATIONS, "admin": ADMINS, "read": READERS}[what]


def page(*roles: Role):
    """A GET page for ``roles`` (default: every role). A domain NotFound becomes the 404 page."""
    roles = roles or READERS

    def decorate(view):
        @require_safe
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if _check(request, roles) is None:
                return redirect_to_login(request.get_full_path(), reverse("web:login"))
            try:
                return view(request, *args, **kwargs)
            except NotFound as e:
                raise Http404(e.message) from None

        return wrapper

    return decorate


def back(request, default: str = "/") -> str:
    """Where to go after an action: the form's ``next``, else the page the form was on (Referer),
    when it is on this site; else ``default``."""
    for target in (request.POST.get("next"), request.GET.get("next"), request.META.get("HTTP_REFERER")):
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                      require_https=request.is_secure()):
            return target
    return default


def action(*roles: Role):
    """A POST action for ``roles``. Domain errors, platform errors and bad amounts become a clear
    message on the page the operator came from; nothing was written (services validate first)."""

    def decorate(view):
        @require_POST
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if _check(request, roles) is None:
                return redirect_to_login(back(request), reverse("web:login"))
            try:
                return view(request, *args, **kwargs)
            except NotFound as e:
                raise Http404(e.message) from None
            except DomainError as e:
                messages.error(request, e.message)
            except PlatformError as e:
                messages.error(request, f"The platform answered with an error: {e.message}")
            except (AmountFormatError, CurrencyError) as e:
                messages.error(request, str(e))
            return redirect(back(request))

        return wrapper

    return decorate
