"""Rendering: exact texts per language (money and dates formatted for it), the restricted engine and
context, English as the fallback."""

from __future__ import annotations

from datetime import date

import pytest

from tripleplay.money import Money
from tripleplay.notifications import catalogue
from tripleplay.notifications.rendering import TemplateProblem, check, render


def test_shipped_low_balance_email_in_english_and_german():
    ctx = {"customer_name": "Ann", "available": Money(123450, "EUR"), "threshold": Money(150000, "EUR")}
    en = render(*catalogue.DEFAULTS[("low_balance", "email", "en")], ctx, "en")
    de = render(*catalogue.DEFAULTS[("low_balance", "email", "de")], ctx, "de")
    assert en.subject == "Your balance is low"
    assert en.body == ("Dear Ann,\n\nyour available balance is €1,234.50, below the €1,500.00 you asked us to warn you "
                       "at.\nPlease top up to keep your services running.\n")
    assert de.subject == "Ihr Guthaben ist niedrig"
    assert de.body == ("Guten Tag Ann,\n\nIhr verfügbares Guthaben beträgt 1.234,50\xa0€ und liegt damit unter der "
                       "Warnschwelle von 1.500,00\xa0€.\nBitte laden Sie auf, damit Ihre Dienste weiterlaufen.\n")


def test_dates_per_language():
    ctx = {"package": "Sports", "last_day": date(2026, 3, 9)}
    assert render(*catalogue.DEFAULTS[("package_ending", "sms", "en")], ctx, "en").body == \
        "Your package Sports runs until 9 March 2026."
    assert render(*catalogue.DEFAULTS[("package_ending", "sms", "de")], ctx, "de").body == \
        "Ihr Paket Sports läuft bis 9. März 2026."


def test_every_shipped_template_renders_its_sample_and_every_kind_has_english():
    for (kind, channel, lang), (subject, body) in catalogue.DEFAULTS.items():
        out = render(subject, body, catalogue.KINDS[kind].sample, lang)
        assert out.body.strip() and "{{" not in out.body, (kind, channel, lang)
        assert bool(out.subject) == (channel == "email")
    for kind in catalogue.KINDS.values():
        for channel in kind.channels:
            assert {(kind.code, channel, lang) for lang in catalogue.LANGUAGES} <= set(catalogue.DEFAULTS)


@pytest.mark.parametrize("source", ['{% include "/etc/passwd" %}', "{% load static %}", "{% debug %}",
                                    '{% url "web:home" %}', "{% extends 'x' %}", "{% if %}", "{{ a|nosuchfilter }}"])
def test_refused_templates(source):
    with pytest.raises(TemplateProblem):
        check(source)


def test_context_takes_plain_values_only():
    class Secretive:
        password = "x"

    with pytest.raises(TypeError):
        render("", "{{ c.password }}", {"c": Secretive()}, "en")
    with pytest.raises(TypeError):
        render("", "{{ f }}", {"f": 1.5}, "en")


def test_no_html_escaping_and_logic_tags():
    out = render("A & B", "{% if n > 1 %}{{ n }} <items>{% else %}one{% endif %}", {"n": 3}, "en")
    assert (out.subject, out.body) == ("A & B", "3 <items>")
