"""The portal's pages and actions: what a subscriber sees and does, exact outcomes; the portal's door
is separate from the operator's; CSRF on every action; languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.http import HttpRequest
from django.test import Client

from tripleplay import clock
from tripleplay.core.errors import InvalidInput
from tripleplay.customers.models import AccountProduct
from tripleplay.ledger.models import LedgerEntry
from tripleplay.ledger.selectors import funds_of
from tripleplay.selfcare.tests.conftest import PASSWORD, portal_client
from tripleplay.subscriptions.models import SubscriptionCharge


def test_overview_shows_the_subscribers_own_money_invoices_and_services(portal):
    page = portal.ada.client.get("/my/").content.decode()
    funds = funds_of(portal.ada.customer)
    assert funds.balance.format() in page and "Ada" in page
    assert portal.invoice.number_text in page or portal.invoice.open_minor == 0
    assert "Sports" in page and "Bob" not in page


def test_a_subscriber_adds_a_package_after_seeing_the_charge_and_it_is_charged_once(portal):
    ada, cat = portal.ada, portal.catalog
    before = funds_of(ada.customer).balance.minor
    page = ada.client.get(f"/my/accounts/{ada.account.pk}/addons/{cat.movies_plan.pk}/").content.decode()
    assert 'id="charge-now">$7.99<' in page and 'id="price">$7.99 per month<' in page
    response = ada.client.post(f"/my/accounts/{ada.account.pk}/addons/{cat.movies_plan.pk}/add")
    assert response.status_code == 302 and response["Location"] == "/my/services/"
    a = AccountProduct.objects.get(account=ada.account, product=cat.movies, end_date__isnull=True)
    assert a.start_date == clock.today()
    assert funds_of(ada.customer).balance.minor == before - 799
    charge = SubscriptionCharge.objects.get(assignment=a)
    assert (charge.kind, charge.period_index, charge.amount_minor) == ("periodic", 0, 799)
    assert charge.entry.idempotency_key == f"sub:{a.pk}:periodic:0"
    # twice: refused as a duplicate, nothing more charged
    again = ada.client.post(f"/my/accounts/{ada.account.pk}/addons/{cat.movies_plan.pk}/add", follow=True)
    assert "You already have this package." in again.content.decode()
    assert funds_of(ada.customer).balance.minor == before - 799


def test_prepaid_funds_that_do_not_cover_the_charge_refuse_the_package(portal, actor):
    from tripleplay.ledger.services import post_charge
    from tripleplay.money import Money

    bob, cat = portal.bob, portal.catalog
    post_charge(actor, bob.customer, Money(4500, "USD"), description="usage", idempotency_key="drain-bob")  # $5 left
    page = bob.client.get(f"/my/accounts/{bob.account.pk}/addons/{cat.movies_plan.pk}/").content.decode()
    assert 'id="not-covered"' in page and 'id="confirm"' not in page
    entries = LedgerEntry.objects.filter(customer=bob.customer).count()
    response = bob.client.post(f"/my/accounts/{bob.account.pk}/addons/{cat.movies_plan.pk}/add", follow=True)
    assert "Your available funds do not cover this." in response.content.decode()
    assert not AccountProduct.objects.filter(account=bob.account, product=cat.movies).exists()
    assert LedgerEntry.objects.filter(customer=bob.customer).count() == entries


def test_a_subscriber_removes_a_self_service_package(portal):
    ada, cat = portal.ada, portal.catalog
    sports = AccountProduct.objects.get(account=ada.account, product=cat.sports, end_date__isnull=True)
    assert "Remove Sports" in ada.client.get("/my/services/").content.decode()
    assert ada.client.get(f"/my/accounts/{ada.account.pk}/assignments/{sports.pk}/").status_code == 200
    response = ada.client.post(f"/my/accounts/{ada.account.pk}/assignments/{sports.pk}/remove")
    assert response.status_code == 302
    sports.refresh_from_db()
    assert sports.end_date == clock.today() and sports.end_reason == "removed by the subscriber"


def test_products_not_self_service_are_neither_offered_nor_removable(portal, actor):
    from tripleplay.catalog.services import update_product

    ada, cat = portal.ada, portal.catalog
    update_product(actor, cat.sports, self_service=False)
    update_product(actor, cat.movies, self_service=False)
    page = ada.client.get("/my/services/").content.decode()
    assert "Add Movies" not in page and "Remove Sports" not in page
    assert ada.client.get(f"/my/accounts/{ada.account.pk}/addons/{cat.movies_plan.pk}/").status_code == 404
    assert ada.client.post(f"/my/accounts/{ada.account.pk}/addons/{cat.movies_plan.pk}/add").status_code == 404
    sports = AccountProduct.objects.get(account=ada.account, product=cat.sports)
    assert ada.client.post(f"/my/accounts/{ada.account.pk}/assignments/{sports.pk}/remove").status_code == 404
    assert sports.end_date is None
    # a main product is never offered, whatever its flag
    with pytest.raises(InvalidInput):
        update_product(actor, cat.tv, self_service=True)


def test_invoice_pdf_is_the_subscribers_own(portal):
    response = portal.ada.client.get(f"/my/invoices/{portal.invoice.pk}/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert portal.invoice.number_text in portal.ada.client.get("/my/invoices/").content.decode()


def test_pages_need_a_portal_login_and_an_operator_login_is_not_one(portal, db):
    from tripleplay.access.services import create_operator
    from tripleplay.core.actors import Actor

    anonymous = Client()
    for url in ("/my/", "/my/services/", "/my/invoices/", "/my/payments/", "/my/usage/", "/my/settings/"):
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/my/login/?next="), url
    create_operator(Actor.system("t"), username="op", password="operator-pw-1", role="admin")
    operator = Client()
    assert operator.login(request=HttpRequest(), username="op", password="operator-pw-1")
    assert operator.get("/my/").status_code == 302  # an operator is not a subscriber
    # and a subscriber is not an operator
    assert portal.ada.client.get("/customers/").status_code == 302
    assert portal.ada.client.get("/customers/")["Location"].startswith("/login/")


def test_every_action_needs_csrf(portal):
    ada = portal.ada
    strict = Client(enforce_csrf_checks=True)
    strict.get("/my/login/")
    token = strict.cookies["csrftoken"].value
    assert strict.post("/my/login/", {"identity": "ada@example.net", "password": PASSWORD}).status_code == 403
    assert strict.post("/my/login/", {"identity": "ada@example.net", "password": PASSWORD,
                                      "csrfmiddlewaretoken": token}).status_code == 302
    cat = portal.catalog
    for url in (f"/my/accounts/{ada.account.pk}/addons/{cat.movies_plan.pk}/add", "/my/settings/password",
                "/my/language", "/my/logout"):
        assert strict.post(url, {"language": "de"}).status_code == 403, url
    assert not AccountProduct.objects.filter(account=ada.account, product=cat.movies).exists()


def test_language_from_the_browser_then_the_customers_setting(portal):
    ada = portal.ada
    german = ada.client.get("/my/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert "Guthaben" in german and "5.000,00" not in german
    assert ada.client.get("/my/", HTTP_ACCEPT_LANGUAGE="en").content.decode().count("Balance") >= 1
    ada.client.post("/my/language", {"language": "de", "next": "/my/"})
    ada.login.refresh_from_db()
    assert ada.login.language == "de"
    page = ada.client.get("/my/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Guthaben" in page and "50,00\xa0$" in page  # German words and German money formatting
    assert "7,99\xa0$ pro Monat" in ada.client.get("/my/services/").content.decode()
    # the portal's language does not stay on the thread for the next request (operator UI, API)
    from django.utils import translation

    assert translation.get_language() == "en"


def test_session_expiry_sends_back_to_the_login(portal, settings):
    settings.TRIPLEPLAY_PORTAL_SESSION_IDLE_SECONDS = 600
    clock.freeze(datetime(2026, 4, 1, 8, 0, tzinfo=UTC))
    client = portal_client("bob-tv")
    assert client.get("/my/").status_code == 200
    clock.freeze(datetime(2026, 4, 1, 8, 11, tzinfo=UTC))
    response = client.get("/my/")
    assert response.status_code == 302 and response["Location"] == "/my/login/?next=/my/"


def test_login_form_throttles_and_says_so(portal, settings):
    settings.TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_IDENTITY = 2
    c = Client()
    for _ in range(2):
        assert c.post("/my/login/", {"identity": "bob@example.net", "password": "nope"}).status_code == 401
    response = c.post("/my/login/", {"identity": "bob@example.net", "password": PASSWORD})
    assert response.status_code == 429 and "Too many failed attempts" in response.content.decode()
    assert "tp_my" not in response.cookies


def test_change_password_in_settings(portal):
    bob = portal.bob
    response = bob.client.post("/my/settings/password", {"current_password": PASSWORD, "new_password": "brand new 22",
                                                         "new_password2": "brand new 22"}, follow=True)
    assert "Your password was changed." in response.content.decode()
    assert bob.client.get("/my/").status_code == 200  # this session stays
    portal_client("bob@example.net", "brand new 22")


def test_logout_ends_the_session(portal):
    client = portal.bob.client
    assert client.post("/my/logout").status_code == 302
    assert client.get("/my/").status_code == 302


def test_the_committed_german_catalogue_is_compiled_from_its_po():
    """The .mo is committed (compiled with Babel, no gettext needed); it must match its .po."""
    from io import BytesIO
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    here = Path(__file__).resolve().parents[1] / "locale" / "de" / "LC_MESSAGES"
    with open(here / "django.po", "rb") as f:
        catalog = read_po(f, locale="de")
    assert all(m.string for m in catalog if m.id), "an untranslated string"
    out = BytesIO()
    write_mo(out, catalog)
    assert out.getvalue() == (here / "django.mo").read_bytes()


def test_a_suspended_customer_cannot_order(portal, actor):
    from tripleplay.customers.services import change_customer_status

    bob, cat = portal.bob, portal.catalog
    change_customer_status(actor, bob.customer, "suspended", reason="asked")
    assert "Add Movies" not in bob.client.get("/my/services/").content.decode()
    entries = LedgerEntry.objects.filter(customer=bob.customer).count()
    response = bob.client.post(f"/my/accounts/{bob.account.pk}/addons/{cat.movies_plan.pk}/add", follow=True)
    assert "Your service is suspended" in response.content.decode()
    assert not AccountProduct.objects.filter(account=bob.account, product=cat.movies).exists()
    assert LedgerEntry.objects.filter(customer=bob.customer).count() == entries
