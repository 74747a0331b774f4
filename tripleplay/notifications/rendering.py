"""Rendering a template: pure functions, no database. The context is plain values only (str, int, bool,
None, a date, a datetime or Money; never a model), so a template edited by an operator can reach nothing
but what the caller handed it; Money and dates are formatted for the language before rendering. The
engine has no loaders and no tag libraries beyond Django's built-ins: no {% include %}, {% extends %}
or {% load %} of anything. Text only, no HTML escaping (e-mail bodies are text/plain, SMS is text)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date, format_datetime
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Lexer, TokenType

from tripleplay.money import Money

LOCALES = {"en": "en_GB", "de": "de_DE"}
_ENGINE = Engine(dirs=[], app_dirs=False, libraries={}, loaders=[], autoescape=False, debug=False)
_PLAIN = (str, int, bool, type(None))
# The tags a notification may use: logic and formatting only. Not include/extends/block (no loaders
# anyway), load, url, csrf_token or debug (which would print the context's internals).
ALLOWED_TAGS = frozenset({
    "if", "elif", "else", "endif", "for", "empty", "endfor", "with", "endwith", "firstof", "now", "cycle",
    "comment", "endcomment", "filter", "endfilter", "spaceless", "endspaceless", "verbatim", "endverbatim",
    "templatetag", "widthratio"})


class TemplateProblem(ValueError):
    """The template does not parse, or names a tag the engine does not have."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def format_value(value, language: str):
    locale = LOCALES.get(language, LOCALES["en"])
    if isinstance(value, Money):
        return value.format(locale)
    if isinstance(value, datetime):
        return format_datetime(value, format="medium", locale=locale)
    if isinstance(value, date):
        return format_date(value, format="long", locale=locale)
    if isinstance(value, _PLAIN) and not isinstance(value, float):
        return value
    raise TypeError(f"a notification's context takes plain values, Money and dates, not {type(value).__name__}")


def plain_context(context: dict, language: str) -> dict:
    return {str(k): format_value(v, language) for k, v in context.items()}


def check(source: str) -> None:
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            tag = (token.split_contents() or [""])[0]
            if tag not in ALLOWED_TAGS:
                raise TemplateProblem(f"the tag {{% {tag} %}} is not allowed in a notification")
    try:
        _ENGINE.from_string(source)
    except TemplateSyntaxError as e:
        raise TemplateProblem(str(e)) from None


def render(subject: str, body: str, context: dict, language: str) -> Rendered:
    ctx = plain_context(context, language)
    check(subject)
    check(body)
    try:
        subj = _ENGINE.from_string(subject).render(Context(ctx, autoescape=False))
        text = _ENGINE.from_string(body).render(Context(ctx, autoescape=False))
    except Exception as e:  # a filter given a wrong argument at render time, ...
        raise TemplateProblem(f"{type(e).__name__}: {e}") from None
    return Rendered(re.sub(r"[ \t\r\n]+", " ", subj).strip(), text)  # one line; keeps no-break spaces
