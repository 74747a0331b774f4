"""Who is the subscriber, and in which language: the portal's own door, separate from the operator's.

The portal never looks at Django's auth session and the operator interface never looks at the
portal's cookie (``tp_my``, path /my/, HttpOnly, SameSite=Lax): an operator logged in is not a
subscriber and a subscriber has no operator login. The cookie holds a random session key whose
digest is a PortalSession row (tripleplay.subscriber_access). CSRF: Django's middleware on every POST.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from tripleplay.core.actors import Actor
from tripleplay.core.errors import DomainError, NotFound
from tripleplay.money import AmountFormatError
from tripleplay.subscriber_access.services import LANGUAGES, session_login

COOKIE = "tp_my"
LANGUAGE_COOKIE = "tp_my_lang"
COOKIE_PATH = "/my/"


def language_for(request, login=None) -> str:
    """The customer's setting, else the language cookie, else the browser's Accept-Language, else English."""
    if login is not None and login.language in LANGUAGES:
        return login.language
    chosen = request.COOKIES.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    browser = translation.get_language_from_request(request)
    return browser if browser in LANGUAGES else settings.LANGUAGE_CODE


def _language(request, login=None) -> str:
    request.LANGUAGE_CODE = language_for(request, login)
    return request.LANGUAGE_CODE


def set_session_cookie(response, key: str) -> None:
    response.set_cookie(COOKIE, key, max_age=settings.TRIPLEPLAY_PORTAL_SESSION_MAX_SECONDS, path=COOKIE_PATH,
                        httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)


def safe_next(request, target: str | None, default: str) -> str:
    if target and target.startswith("/my/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _subscriber(request):
    """The logged-in subscriber's login (request.subscriber, .customer, .actor set), or None; either way
    request.LANGUAGE_CODE is the language to answer in."""
    login = session_login(request.COOKIES.get(COOKIE))
    _language(request, login)
    if login is None:
        return None
    request.subscriber = login
    request.customer = login.customer
    request.actor = Actor.subscriber(login.customer)
    return login


def _to_login(request):
    response = redirect(f"{reverse('selfcare:login')}?next={request.get_full_path()}")
    if COOKIE in request.COOKIES:
        response.delete_cookie(COOKIE, path=COOKIE_PATH)  # ended or expired: drop it
    return response


def public(view):
    """A page for anyone (login, password links): in the browser's or the chosen language."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # override, not activate: the language must not stay on this thread for its next request
        # (the operator UI and the API answer in English whatever the portal did before).
        with translation.override(_language(request)):
            response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
    return wrapper


def subscriber_page(view):
    """A GET page of the logged-in subscriber; another customer's object is a 404 (NotFound)."""
    @require_safe
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if _subscriber(request) is None:
            return _to_login(request)
        try:
            with translation.override(request.LANGUAGE_CODE):
                response = view(request, *args, **kwargs)
        except NotFound:
            raise Http404("Not found.") from None
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    return wrapper


def subscriber_action(view):
    """A POST action of the logged-in subscriber. A refusal (DomainError) is a message on the page
    the form names in ``next`` (a /my/ page), nothing written; another customer's object is a 404."""
    @require_POST
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if _subscriber(request) is None:
            return _to_login(request)
        try:
            with translation.override(request.LANGUAGE_CODE):
                try:
                    return view(request, *args, **kwargs)
                except (DomainError, AmountFormatError) as e:
                    if isinstance(e, NotFound):
                        raise
                    messages.error(request, describe(e))
        except NotFound:
            raise Http404("Not found.") from None
        return redirect(safe_next(request, request.POST.get("next"), reverse("selfcare:home")))
    return wrapper


def describe(error) -> str:
    """A refusal in the subscriber's language where we know it; the service's own text otherwise."""
    from django.utils.translation import gettext as _

    known = {
        "insufficient_funds": _("Your available funds do not cover this. Top up and try again."),
        "duplicate": _("You already have this package."),
        "already_ended": _("This package has already ended."),
        "account_closed": _("This account is closed."),
        "wrong_password": _("The current password is wrong."),
        "invalid_token": _("This link has expired or was already used: ask for a new one."),
        "throttled": _("Too many failed attempts: wait a few minutes and try again."),
        "invalid_credentials": _("Unknown login or wrong password."),
        "customer_not_active": _("Your service is suspended: contact us or settle what is due first."),
        "customer_closed": _("Your customer account is closed."),
        "invoice_not_open": _("This invoice has nothing left to pay."),
        "payments_not_configured": _("Online payments are not available."),
        "payment_provider_error": _("The payment service could not start the payment: try again later."),
        "voucher_code_malformed": _("A voucher code has 20 digits: check what you typed."),
        "voucher_not_found": _("No voucher has this code: check the digits."),
        "voucher_used": _("This voucher has already been used."),
        "voucher_disabled": _("This voucher is no longer valid."),
        "voucher_expired": _("This voucher has expired."),
        "voucher_currency_mismatch": _("This voucher is in another currency than your account."),
        "hold_overlaps": _("This account is already paused on some of these days."),
        "hold_start_too_early": _("A pause must be asked for at least a day ahead."),
        "hold_too_long": _("This pause is longer than allowed."),
        "invalid_hold_dates": _("The pause must end after it starts."),
        "hold_not_scheduled": _("This pause has already started: contact us to end it."),
    }
    return known.get(getattr(error, "code", ""), getattr(error, "message", str(error)))
