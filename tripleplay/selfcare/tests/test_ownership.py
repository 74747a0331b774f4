"""A subscriber cannot read or change anything of another customer: every portal URL that names an
object is walked with another customer's ids. Each answers 404 and nothing is written (no
assignment, ledger entry, audit event, session or login change). A last test pins that the walk
covers every route of the portal that takes an id."""

from __future__ import annotations

from django.urls import get_resolver

from tripleplay.audit.models import AuditEvent
from tripleplay.customers.models import AccountProduct
from tripleplay.iptv.models import PpvGrant
from tripleplay.ledger.models import LedgerEntry
from tripleplay.payments.models import CheckoutSession
from tripleplay.ppv.models import PpvPurchase
from tripleplay.selfcare.tests.conftest import with_ppv
from tripleplay.subscriber_access.models import SubscriberLogin


def _state():
    return (AccountProduct.objects.count(), list(AccountProduct.objects.filter(end_date__isnull=False).values_list("pk")),
            LedgerEntry.objects.count(), AuditEvent.objects.count(), CheckoutSession.objects.count(),
            PpvPurchase.objects.count(), PpvGrant.objects.count(),
            list(SubscriberLogin.objects.order_by("pk").values_list("password", "status", "language")))


def _ada_hold(ada):
    from datetime import timedelta

    from tripleplay import clock
    from tripleplay.core.actors import Actor
    from tripleplay.customers.models import VacationHold
    from tripleplay.customers.vacation import schedule_hold

    return VacationHold.objects.filter(account=ada.account).first() or schedule_hold(
        Actor.system("test"), ada.account, start_date=clock.today() + timedelta(days=5),
        end_date=clock.today() + timedelta(days=9))


def walk(portal) -> dict[str, tuple[str, str]]:
    """route name -> (method, URL with Ada's ids), for Bob to try."""
    ada, cat = portal.ada, portal.catalog
    sports = AccountProduct.objects.get(account=ada.account, product=cat.sports)
    event = with_ppv(portal).event
    hold = _ada_hold(ada)
    return {
        "hold_schedule": ("post", f"/my/accounts/{ada.account.pk}/holds"),
        "hold_cancel": ("post", f"/my/accounts/{ada.account.pk}/holds/{hold.pk}/cancel"),
        "invoice_pdf": ("get", f"/my/invoices/{portal.invoice.pk}/pdf"),
        "invoice_pay": ("post", f"/my/invoices/{portal.invoice.pk}/pay"),
        "addon_confirm": ("get", f"/my/accounts/{ada.account.pk}/addons/{cat.movies_plan.pk}/"),
        "addon_add": ("post", f"/my/accounts/{ada.account.pk}/addons/{cat.movies_plan.pk}/add"),
        "addon_remove_confirm": ("get", f"/my/accounts/{ada.account.pk}/assignments/{sports.pk}/"),
        "addon_remove": ("post", f"/my/accounts/{ada.account.pk}/assignments/{sports.pk}/remove"),
        "ppv_confirm": ("get", f"/my/accounts/{ada.account.pk}/ppv/{event.pk}/"),
        "ppv_buy": ("post", f"/my/accounts/{ada.account.pk}/ppv/{event.pk}/buy"),
    }


def test_every_url_with_another_customers_ids_is_a_404_and_changes_nothing(portal):
    urls = walk(portal)  # Ada's ids (her hold written first)
    ada_only = _ada_only_event(portal)
    before = _state()
    for name, (method, url) in urls.items():
        response = getattr(portal.bob.client, method)(url)
        assert response.status_code == 404, (name, response.status_code)
        assert b"Ada" not in response.content
    # Bob's own account with Ada's assignment, and Ada's account with Bob's own plan choice
    sports = AccountProduct.objects.get(account=portal.ada.account, product=portal.catalog.sports)
    assert portal.bob.client.post(f"/my/accounts/{portal.bob.account.pk}/assignments/{sports.pk}/remove").status_code == 404
    assert portal.bob.client.get(f"/my/accounts/{portal.bob.account.pk}/assignments/{sports.pk}/").status_code == 404
    # Bob's own account with an event of a platform Bob is not on
    assert portal.bob.client.get(f"/my/accounts/{portal.bob.account.pk}/ppv/{ada_only.pk}/").status_code == 404
    assert portal.bob.client.post(f"/my/accounts/{portal.bob.account.pk}/ppv/{ada_only.pk}/buy",
                                  {"purchase_key": "e" * 32}).status_code == 404
    assert _state() == before
    # the lists show only Bob's own
    for url in ("/my/", "/my/invoices/", "/my/payments/", "/my/usage/", "/my/services/", "/my/ppv/"):
        page = portal.bob.client.get(url).content.decode()
        assert portal.invoice.number_text not in page and "ada-tv" not in page and "Ada" not in page, url
        assert "Ada Only Gala" not in page, url


def _ada_only_event(portal):
    """An event on a platform where only Ada is a subscriber."""
    from tripleplay import clock
    from tripleplay.core.actors import Actor
    from tripleplay.iptv.configuration import create_platform
    from tripleplay.iptv.models import ChannelPackage, PpvEvent
    from tripleplay.iptv.packages import link_package

    actor, now = Actor.system("ownership"), clock.now()
    platform = create_platform(actor, code="ada-only", name="Ada Only", kind="generic_xml", base_url="http://127.0.0.1:9",
                               username="u", secret="s", timeout_seconds="1", options={"ppv_grants": True})
    package = ChannelPackage.objects.create(platform=platform, external_id="gala-pkg", name="Gala", first_seen_at=now,
                                            updated_at=now)
    link_package(actor, package, portal.catalog.sports)  # only Ada has Sports
    from django.db import transaction

    from tripleplay.iptv.provisioning import sync_account
    with transaction.atomic():  # Ada becomes a subscriber there
        sync_account(actor, portal.ada.account, "Account/Changed")
    return PpvEvent.objects.create(platform=platform, external_id="gala", title="Ada Only Gala", price_minor=100,
                                   currency="USD", first_seen_at=now, updated_at=now)


def test_the_same_urls_work_for_their_owner(portal):
    for name, (method, url) in walk(portal).items():
        if method == "get":
            assert portal.ada.client.get(url).status_code == 200, name


def test_the_walk_covers_every_portal_route_with_an_id(portal):
    resolver = get_resolver()
    (my,) = [p for p in resolver.url_patterns if str(p.pattern) == "my/"]
    with_ids = {p.name for p in my.url_patterns if "<int:" in str(p.pattern)}
    assert with_ids == set(walk(portal))
