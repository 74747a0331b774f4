"""The 400/403/404/500 pages (tripleplay.urls sets them as Django's handlers). They never show a
stack trace: with DEBUG off Django calls these; the 500 page is rendered without the request so it
cannot fail on whatever broke the request. The API keeps its JSON errors (tripleplay.api.errors)."""

from django.http import HttpResponse, HttpResponseServerError
from django.template import loader


def _message(exception) -> str:
    # Only our own messages (raised with a text for the operator) are shown; Django's internal
    # Resolver404 carries a dict that must not be echoed.
    if exception is not None and exception.args and isinstance(exception.args[0], str):
        return exception.args[0]
    return ""


def _render(request, code: int, exception=None) -> HttpResponse:
    if request is not None and not hasattr(request, "actor") and getattr(request, "user", None) is not None:
        from tripleplay.access.selectors import operator_actor

        if request.user.is_authenticated:
            request.actor = operator_actor(request.user)
    body = loader.render_to_string(f"web/{code}.html", {"message": _message(exception)}, request=request)
    return HttpResponse(body, status=code)


def bad_request(request, exception=None):
    return _render(request, 400)


def permission_denied(request, exception=None):
    return _render(request, 403, exception)


def csrf_failure(request, reason: str = ""):
    """settings.CSRF_FAILURE_VIEW: a form without a valid CSRF token (expired session, another site)."""
    return _render(request, 403, PermissionError(
        "This form could not be accepted: it was sent without a valid security token (the page may be "
        "too old, or it came from another site). Reload the page and try again."))


def not_found(request, exception=None):
    return _render(request, 404, exception)


def server_error(request):
    return HttpResponseServerError(loader.get_template("web/500.html").render({}))
