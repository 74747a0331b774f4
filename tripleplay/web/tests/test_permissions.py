"""Every web action by role, mirroring the REST API's rules (tripleplay.api.permissions): support
is refused every POST (403, nothing written); finance may do customer, account, money and
provisioning actions but not catalog or platform configuration; admin may do everything. Every
page is readable by every role; without a login every page and action sends to the login page.
CSRF is enforced on every form."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client

from tripleplay.audit.models import AuditEvent
from tripleplay.customers.models import Customer
from tripleplay.ledger.models import LedgerEntry

OPS, ADMIN = ("admin", "finance"), ("admin",)


def actions(w):
    """(name, url, form data, roles allowed, the status an allowed role gets)."""
    c, a, s, p = w.customer.pk, w.account.pk, w.subscriber.pk, w.platform.pk
    addon = w.account.products.get(plan=w.cat.sports_plan).pk
    invoice = _invoice(w)
    return [
        ("signup", "/customers/new/submit", {"name": "Bob", "currency": "USD", "balance_model": "prepaid",
                                             "tv_plan": w.cat.tv_plan.pk, "tv_login": "bob-{role}"}, OPS, 302),
        ("edit customer", f"/customers/{c}/update", {"name": "Ada King", "email": "ada@example.org"}, OPS, 302),
        ("customer status", f"/customers/{c}/status", {"status": "suspended", "reason": "asked"}, OPS, 302),
        ("portal invite", f"/customers/{c}/portal/invite", {}, OPS, 302),
        ("portal disable", f"/customers/{_portal_login(w)}/portal/disable", {"reason": "asked"}, OPS, 302),
        ("account status", f"/accounts/{a}/status", {"status": "blocked", "reason": "fraud"}, OPS, 302),
        ("account identifiers", f"/accounts/{a}/update", {"login": "ada", "device_id": "00:1A:79:00:00:{role}"},
         OPS, 302),
        ("new account", f"/customers/{c}/accounts/new", {"main_plan": w.cat.internet_plan.pk,
                                                         "login": "net-{role}"}, OPS, 302),
        ("change main product", f"/accounts/{a}/main-product", {"plan_id": w.cat.tv_plan.pk}, OPS, 302),
        ("add add-on", f"/accounts/{a}/addons", {"plan_id": w.cat.movies_plan.pk}, OPS, 302),
        ("remove add-on", f"/accounts/{a}/addons/{addon}/remove", {}, OPS, 302),
        ("payment: confirm page", f"/customers/{c}/money/payment", {"amount": "10.00"}, OPS, 200),
        ("payment", f"/customers/{c}/money/payment", {"amount": "10.00", "confirm": "1", "key": "k1-{role}"}, OPS, 302),
        ("credit", f"/customers/{c}/money/credit", {"amount": "1.00", "reason": "goodwill", "confirm": "1",
                                                     "key": "k2"}, OPS, 302),
        ("retry provisioning", f"/subscribers/{s}/retry", {}, OPS, 302),
        ("cancel provisioning", f"/subscribers/{s}/cancel", {}, OPS, 302),  # nothing queued: a message
        ("PPV refund", "/ppv/purchases/999999/refund", {"reason": "x"}, OPS, 404),
        ("issue invoice", f"/customers/{c}/invoices/new", {}, OPS, 302),
        ("void invoice", f"/invoices/{invoice}/void", {"reason": "wrong address"}, OPS, 302),
        ("connection test", f"/platforms/{p}/test", {}, OPS, 302),
        ("create product", "/catalog/products/new", {"code": "x1", "name": "X", "kind": "addon", "currency": "USD",
                                                     "services": ["iptv"]}, ADMIN, 302),
        ("create plan", f"/catalog/products/{w.cat.basic.pk}/plans/new", {"code": "tv-y", "name": "Y",
                                                                          "periodic_fee": "1.00"}, ADMIN, 302),
        ("retire product", f"/catalog/products/{w.cat.basic.pk}/retire", {}, ADMIN, 302),
        ("create rate table", "/catalog/rate-tables/new", {"product_id": w.cat.internet_plan.product_id,
                                                           "service_type": "data", "name": "Data {role}"}, ADMIN, 302),
        ("set rate", f"/catalog/rate-tables/{_rate_table(w)}/rates", {"prefix": "", "price": "0.10"}, ADMIN, 302),
        ("peak window", f"/catalog/rate-tables/{_rate_table(w)}/peak", {"start": "08:00", "end": "20:00",
                                                                         "weekdays": ["1", "2"]}, ADMIN, 302),
        ("create bundle rule", "/catalog/bundles/new", {"name": "Bundle {role}", "tier1_services": ["iptv", "data"],
                                                        "tier1_percent": "10"}, ADMIN, 302),
        ("end bundle rule", f"/catalog/bundles/{_bundle_rule(w)}/end", {"active_until": "2030-01-01"}, ADMIN, 302),
        ("link package", f"/catalog/packages/{_package(w, 'vod-plus')}/link", {"product_id": w.cat.basic.pk}, ADMIN, 302),
        ("sell package", f"/catalog/packages/{_package(w, 'vod-plus')}/sell", {"code": "vod-{role}", "price": "2.00",
                                                                              "currency": "USD"}, ADMIN, 302),
        ("import preview", f"/catalog/packages/import/{p}", {}, ADMIN, 200),
        ("import apply", f"/catalog/packages/import/{p}", {"apply": "1"}, ADMIN, 200),
        ("create PPV event", "/catalog/ppv-events/new", {"platform_id": p, "external_id": "e1", "title": "E",
                                                         "price": "4.99", "currency": "USD"}, ADMIN, 302),
        ("create platform", "/platforms/new", {"code": "new", "name": "New", "kind": "ministra",
                                               "base_url": "http://127.0.0.1:9/", "timeout_seconds": "1"}, ADMIN, 302),
        ("update platform", f"/platforms/{p}/update", {"name": "Renamed", "base_url": w.platform.base_url,
                                                       "timeout_seconds": "2", "enabled": "on"}, ADMIN, 302),
        ("inbound token", f"/platforms/{p}/token", {}, ADMIN, 200),
        ("orderable products", f"/platforms/{p}/orderable", {"product_ids": [str(w.cat.sports_plan.product_id)]},
         ADMIN, 302),
        ("reconcile", f"/platforms/{p}/reconcile", {}, ADMIN, 200),
        ("reconcile repair", f"/platforms/{p}/reconcile", {"repair": "1"}, ADMIN, 200),
        # online payments (no provider configured here: an allowed role sees the refusal as a message)
        ("send checkout link", f"/customers/{c}/payments/checkout", {"target": "top_up", "amount": "10.00"}, OPS, 302),
        ("autopay switch", f"/customers/{c}/payments/autopay", {}, OPS, 302),
        ("online refund", "/online-payments/999999/refund", {"amount": "1.00", "reason": "x"}, OPS, 404),
        ("create voucher batch", "/vouchers/new", {"name": "Cards", "value": "10.00", "currency": "USD", "count": "2",
                                                   "expires_on": _next_year(), "key": "vb-{role}"}, OPS, 200),
        ("disable voucher batch", f"/vouchers/{_voucher_batch(w)}/disable", {"reason": "lost"}, OPS, 302),
        ("create NAS", "/network/nas/new", {"name": "bras-{role}", "address": "192.0.2.77", "vendor": "huawei",
                                            "secret": "secret-{role}", "coa_port": "3799"}, ADMIN, 302),
        ("update NAS", f"/network/nas/{_nas(w)}/update", {"vendor": "huawei", "coa_port": "1700", "enabled": "on"},
         ADMIN, 302),
        ("disconnect session", f"/network/sessions/{_session(w, 'web-1')}/disconnect", {}, OPS, 302),
        ("retry disconnect", f"/network/commands/{_failed_command(w)}/retry", {}, OPS, 302),
        ("replay webhook delivery", f"/webhooks/deliveries/{_webhook(w)[1]}/replay", {}, OPS, 302),
        ("replay webhook event", f"/webhooks/events/{_webhook(w)[2]}/replay", {}, OPS, 302),
        ("create webhook endpoint", "/webhooks/new", {"url": "https://crm.example.com/{role}", "all_events": "on",
                                                      "enabled": "on"}, ADMIN, 200),
        ("update webhook endpoint", f"/webhooks/{_webhook(w)[0]}/update", {
            "url": "https://crm.example.com/x", "event_types": ["invoice.paid"], "timeout_seconds": "5"}, ADMIN, 302),
        ("rotate webhook secret", f"/webhooks/{_webhook(w)[0]}/rotate", {}, ADMIN, 200),
        # promotions (promos)
        ("create promotion", "/promotions/new", {"code": "p-{role}", "name": "P", "kind": "trial", "trial_days": "7",
                                                 "product_id": w.cat.tv_plan.product_id}, OPS, 302),
        ("retire promotion", f"/promotions/{_promotion(w)}/active", {"is_active": "0"}, OPS, 302),
        ("create coupon", "/promotions/coupons/new", {"code": "C{role}", "promotion_id": _promotion(w)}, OPS, 302),
        ("disable coupon", f"/promotions/coupons/{_coupon(w)}/active", {"is_active": "0"}, OPS, 302),
        ("grant promotion", f"/accounts/{a}/promotion", {"assignment_id": addon, "promotion_id": _promotion(w)},
         OPS, 302),
        ("redeem coupon", f"/accounts/{a}/coupon", {"assignment_id": addon, "code": f"perm-half{_coupon(w) and ''}"},
         ("admin", "finance", "support"), 302),
        ("preview notification template", f"/notifications/templates/{_template()}/preview",
         {"body": "Low: {{ available }}"}, ("admin", "finance", "support"), 200),
        ("update notification template", f"/notifications/templates/{_template()}/update",
         {"body": "Low: {{ available }}", "enabled": "on"}, ADMIN, 302),
        ("retry notification", f"/notifications/{_failed_notification(w)}/retry", {}, OPS, 302),
        ("notification settings", f"/customers/{c}/notifications/settings", {"language": "de", "threshold": "5.00"},
         OPS, 302),
    ]


ACTION_NAMES = [
    "signup", "edit customer", "customer status", "portal invite", "portal disable", "account status", "account identifiers",
    "new account", "change main product", "add add-on",
    "remove add-on", "payment: confirm page", "payment", "credit", "retry provisioning", "cancel provisioning",
    "PPV refund", "issue invoice", "void invoice", "connection test", "create product", "create plan",
    "retire product", "create rate table", "set rate", "peak window", "create bundle rule", "end bundle rule",
    "link package", "sell package", "import preview", "import apply", "create PPV event",
    "create platform", "update platform", "inbound token", "orderable products", "reconcile", "reconcile repair",
    "send checkout link", "autopay switch", "online refund", "create voucher batch", "disable voucher batch",
    "create NAS", "update NAS", "disconnect session", "retry disconnect", "replay webhook delivery",
    "replay webhook event", "create webhook endpoint", "update webhook endpoint", "rotate webhook secret",
    "create promotion", "retire promotion", "create coupon", "disable coupon", "grant promotion", "redeem coupon",
    "preview notification template", "update notification template", "retry notification", "notification settings"]


def _promotion(w) -> int:
    from tripleplay.core.actors import Actor
    from tripleplay.promotions.models import Promotion
    from tripleplay.promotions.services import create_promotion

    existing = Promotion.objects.filter(code="perm-half").first()
    return (existing or create_promotion(Actor.system("test"), code="perm-half", name="Half", kind="price",
                                         product=w.cat.sports_plan.product, periods=1, percent_off=50)).pk


def _coupon(w) -> int:
    from tripleplay.core.actors import Actor
    from tripleplay.promotions.models import Coupon, Promotion
    from tripleplay.promotions.services import create_coupon

    existing = Coupon.objects.filter(code="PERMHALF").first()
    return (existing or create_coupon(Actor.system("test"), code="PERMHALF",
                                      promotion=Promotion.objects.get(pk=_promotion(w)))).pk


def _bundle_rule(w) -> int:
    from tripleplay.bundles.models import BundleRule
    from tripleplay.bundles.services import create_rule
    from tripleplay.core.actors import Actor

    existing = BundleRule.objects.filter(name="Bundle web").first()
    return (existing or create_rule(Actor.system("test"), name="Bundle web",
                                    tiers=[{"services": ["iptv", "data"], "percent": "10"}])).pk


def _nas(w) -> int:
    from tripleplay.core.actors import Actor
    from tripleplay.radius.models import NasClient
    from tripleplay.radius.services import create_nas

    existing = NasClient.objects.filter(name="bras-web").first()
    return (existing or create_nas(Actor.system("test"), name="bras-web", address="192.0.2.10", secret="secret-web",
                                   vendor="mikrotik")).pk


def _session(w, session_id: str) -> int:
    from tripleplay.radius.models import NasClient, NetworkSession
    from tripleplay.radius.services import record_accounting

    nas = NasClient.objects.get(pk=_nas(w))
    record_accounting(nas, {"Acct-Status-Type": ["Start"], "Acct-Session-Id": [session_id],
                            "User-Name": [w.account.login or "someone"]})
    return NetworkSession.objects.get(nas=nas, acct_session_id=session_id).pk


def _failed_command(w) -> int:
    from tripleplay.core.actors import Actor
    from tripleplay.radius.models import CommandStatus, NasCommand, NetworkSession
    from tripleplay.radius.services import disconnect_session

    existing = NasCommand.objects.filter(status=CommandStatus.FAILED).first()
    if existing:
        return existing.pk
    command = disconnect_session(Actor.system("test"), NetworkSession.objects.get(pk=_session(w, "web-2")))
    NasCommand.objects.filter(pk=command.pk).update(status=CommandStatus.FAILED, last_error="no answer")
    return command.pk




def _webhook(w) -> tuple[int, int, int]:
    """(endpoint, delivery, event): an endpoint with one failed delivery of a payment event (once)."""
    from tripleplay.core.actors import Actor
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money
    from tripleplay.webhooks.models import Delivery
    from tripleplay.webhooks.services import create_endpoint

    d = Delivery.objects.first()
    if d is None:
        create_endpoint(Actor.system("test"), url="http://127.0.0.1:9/hook", event_types=["payment.recorded"])
        record_payment(Actor.system("test"), w.customer, Money(100, "USD"), idempotency_key="webhook-test")
        d = Delivery.objects.get()
        Delivery.objects.filter(pk=d.pk).update(status="failed", attempts=12)
    return d.endpoint_id, d.pk, d.event_id


def _template() -> int:
    from tripleplay.notifications.models import Template

    return Template.objects.get(kind="low_balance", channel="sms", language="en").pk


def _failed_notification(w) -> int:
    """A failed SMS notice of the world's customer (once)."""
    from tripleplay.notifications.models import Notification
    from tripleplay.notifications.services import notify

    n = Notification.objects.filter(customer=w.customer, kind="trial_ending").first()
    if n is None:
        Customer.objects.filter(pk=w.customer.pk).update(phone="+4915112345678")
        w.customer.refresh_from_db()
        made = notify(w.customer, "trial_ending", {"package": "Sports"}, key="permissions")
        (n,) = [x for x in made if x.channel == "sms"]
        Notification.objects.filter(pk=n.pk).update(status="failed", last_error="HTTP 400 Twilio 21211")
    return n.pk


def _package(w, external_id: str) -> int:
    from tripleplay.iptv.models import ChannelPackage

    return ChannelPackage.objects.get(platform=w.platform, external_id=external_id).pk


def _rate_table(w) -> int:
    from tripleplay.core.actors import Actor
    from tripleplay.rating.models import RateTable
    from tripleplay.rating.services import create_rate_table

    existing = RateTable.objects.filter(product_id=w.cat.internet_plan.product_id, name="Data").first()
    return (existing or create_rate_table(Actor.system("test"), w.cat.internet_plan.product, service_type="data",
                                          name="Data")).pk


def _next_year() -> str:
    from datetime import timedelta

    from tripleplay import clock

    return (clock.today() + timedelta(days=365)).isoformat()


def _voucher_batch(w) -> int:
    from tripleplay.vouchers.models import VoucherBatch
    from tripleplay.vouchers.tests.conftest import batch_for_tests

    existing = VoucherBatch.objects.filter(name="Permissions").first()
    return (existing or batch_for_tests("Permissions")).pk


def _invoice(w) -> int:
    """The world's customer's invoice (issued out of turn, once)."""
    from tripleplay.core.actors import Actor
    from tripleplay.invoicing.models import Invoice
    from tripleplay.invoicing.services import issue_out_of_turn

    existing = Invoice.objects.filter(customer=w.customer, kind="invoice").first()
    return (existing or issue_out_of_turn(Actor.system("test"), w.customer)).pk


def _portal_login(w) -> int:
    """The world's customer, invited to the portal (once)."""
    from tripleplay.core.actors import Actor
    from tripleplay.subscriber_access.models import SubscriberLogin
    from tripleplay.subscriber_access.services import invite

    if not SubscriberLogin.objects.filter(customer=w.customer).exists():
        invite(Actor.system("test"), w.customer)
    return w.customer.pk


def _state():
    return AuditEvent.objects.count(), LedgerEntry.objects.count(), Customer.objects.count()


def test_the_action_list_is_complete(world):
    from tripleplay.web import urls

    assert [a[0] for a in actions(world)] == ACTION_NAMES
    # every POST-only route of the web app appears in the table above
    post_routes = {p.name for p in urls.urlpatterns if p.name not in {
        "dashboard", "login", "logout", "audit", "customers", "signup", "customer", "customer_edit", "signup_done",
        "catalog", "rate_tables", "packages", "ppv_events", "ppv_purchases", "platforms", "queue", "platform", "reports",
        "invoice_pdf", "invoice_csv", "customer_payments", "checkout_return", "vouchers", "voucher_redemptions",
        "voucher_batch", "network", "webhooks", "webhook", "webhook_delivery", "promotions", "coupons",
        "notifications", "notification", "notification_template", "customer_notifications", "bundle_rules"}}
    tested = {"signup_submit", "customer_update", "customer_status", "portal_invite", "portal_disable",
              "account_status", "account_update",
              "account_create", "main_product",
              "add_addon", "remove_addon", "money", "hold_schedule", "hold_cancel", "hold_end",
              "subscriber_retry", "subscriber_cancel", "ppv_refund", "platform_test", "product_create", "plan_create",
              "product_retire", "rate_table_create", "rate_set", "peak_window_set", "bundle_rule_create",
              "bundle_rule_end",
              "package_link", "package_sell", "package_import", "ppv_event_create", "platform_create",
              "platform_update",
              "platform_token", "platform_orderable", "platform_reconcile", "invoice_issue", "invoice_void", "send_checkout",
              "autopay",
              "online_refund", "voucher_batch_create", "voucher_batch_disable",
              "nas_create", "nas_update", "session_disconnect", "command_retry",
              "webhook_create", "webhook_update", "webhook_rotate", "webhook_delivery_replay", "webhook_event_replay",
              "promotion_create", "promotion_active", "coupon_create", "coupon_active", "promotion_grant",
              "promotion_redeem", "notification_template_preview", "notification_template_update", "notification_retry",
              "customer_notification_preferences"}
    assert post_routes == tested


@pytest.mark.parametrize("role", ["admin", "finance", "support"])
@pytest.mark.parametrize("name", ACTION_NAMES)
def test_action_by_role(world, login, name, role):
    _, url, data, allowed, status = next(a for a in actions(world) if a[0] == name)
    before = _state()
    form = {k: v.replace("{role}", role) if isinstance(v, str) else v for k, v in data.items()}
    response = login(role).post(url, form)
    if role in allowed:
        assert response.status_code == status, response.content[:2000]
    else:
        assert response.status_code == 403
        assert b"may not do this" in response.content
        assert _state() == before  # nothing written, not even an audit event


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_action_without_login_goes_to_the_login_page(world, name):
    _, url, data, _, _ = next(a for a in actions(world) if a[0] == name)
    before = _state()
    response = Client().post(url, data)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    assert _state() == before


def pages(w):
    c, p = w.customer.pk, w.platform.pk
    return ["/", "/customers/", "/customers/?q=ada&status=active&balance_model=prepaid", f"/customers/{c}/",
            *[f"/customers/{c}/?tab={t}" for t in ("accounts", "balance", "invoices", "iptv", "ppv", "status", "portal",
                                                "audit")],
            f"/customers/{c}/provisioning/", "/catalog/", "/catalog/rate-tables/", "/catalog/packages/",
            "/catalog/ppv-events/", "/catalog/ppv-purchases/", "/catalog/ppv-purchases/?status=confirmed&day=2026-01-01",
            "/platforms/", "/platforms/queue/", "/platforms/queue/?status=failed",
            f"/platforms/{p}/", "/reports/", "/audit/", f"/invoices/{_invoice(w)}/lines.csv", f"/customers/{c}/payments/",
            "/vouchers/", "/vouchers/redemptions/", f"/vouchers/{_voucher_batch(w)}/",
            f"/network/?status={_session(w, 'web-page') and 'all'}", "/network/", "/network/?status=stopped",
            "/webhooks/", f"/webhooks/{_webhook(w)[0]}/", f"/webhooks/{_webhook(w)[0]}/?status=failed",
            f"/webhooks/deliveries/{_webhook(w)[1]}/", "/promotions/", "/promotions/coupons/"]


@pytest.mark.parametrize("role", ["admin", "finance", "support"])
def test_every_page_is_readable_by_every_role(world, login, role):
    client = login(role)
    for url in pages(world):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)


@pytest.mark.parametrize("role", ["admin", "finance", "support"])
def test_every_role_downloads_an_invoice_pdf(world, login, role):
    response = login(role).get(f"/invoices/{_invoice(world)}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_the_sign_up_form_is_for_operations_roles(world, login):
    assert login("support").get("/customers/new/").status_code == 403
    assert login("finance").get("/customers/new/").status_code == 200
    assert login("support").get(f"/customers/{world.customer.pk}/edit/").status_code == 403
    assert login("finance").get(f"/customers/{world.customer.pk}/edit/").status_code == 200


def test_pages_need_a_login(world):
    for url in pages(world):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={quote(url, safe='/')}", url


def test_a_login_without_a_role_is_refused_everywhere(world, login):
    from django.contrib.auth import get_user_model

    nobody = get_user_model().objects.create_user("nobody", password="x-password-1")
    client = Client()
    client.force_login(nobody)
    response = client.get("/customers/")
    assert response.status_code == 403 and b"no operator role" in response.content


def test_support_sees_no_action_buttons(world, login):
    body = login("support").get(f"/customers/{world.customer.pk}/?tab=balance").content.decode()
    assert "Post a payment" not in body
    body = login("finance").get(f"/customers/{world.customer.pk}/?tab=balance").content.decode()
    assert "Post a payment" in body


def test_csrf_is_enforced_on_forms(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["admin"])
    url = f"/customers/{world.customer.pk}/money/payment"
    data = {"amount": "10.00", "confirm": "1", "key": "csrf-test"}
    before = _state()
    refused = client.post(url, data)
    assert refused.status_code == 403 and b"Reload the page and try again." in refused.content
    assert _state() == before
    client.get(f"/customers/{world.customer.pk}/?tab=balance")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(url, {**data, "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert LedgerEntry.objects.filter(idempotency_key="web-payment-csrf-test").count() == 1


def test_login_and_logout(world):
    client = Client(enforce_csrf_checks=False)
    wrong = client.post("/login/", {"username": "web-finance", "password": "wrong"})
    assert wrong.status_code == 200 and b"Wrong user name or password" in wrong.content
    ok = client.post("/login/", {"username": "web-finance", "password": "web-test-password", "next": "/customers/"})
    assert ok.status_code == 302 and ok["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200
    out = client.post("/logout/")
    assert out.status_code == 302 and out["Location"] == "/login/"
    assert client.get("/customers/").status_code == 302
