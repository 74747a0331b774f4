"""IPTV: platforms, catalog import, packages as products, the provisioning queue and reconciliation,
against a real simulator process (matrixstream)."""

import re

import pytest

from tripleplay.api.tests.conftest import error_of, snapshot
from tripleplay.catalog import services as catalog_services
from tripleplay.core.testing import free_port
from tripleplay.iptv import configuration
from tripleplay.iptv.catalog_import import import_catalog, import_from_platform
from tripleplay.iptv.models import ChannelPackage, Platform, ProvisioningCommand, Subscriber
from tripleplay.iptv.platforms.base import PackageInfo, PpvEventInfo
from tripleplay.iptv.tests.conftest import drain, make_platform, simulator_pool  # noqa: F401

pytestmark = pytest.mark.django_db

KIND = "matrixstream"
T = "2026-03-10T12:00:00Z"
WRONG_SECRET = "wr0ng-s3cret-never-shown"
NEW_SECRET = "n3w-s3cret-never-shown"
DEFAULT_IDS = ["basic", "kids", "movies", "sports", "vod-plus"]


@pytest.fixture
def sim(simulator_pool):  # noqa: F811
    return simulator_pool(KIND)


@pytest.fixture
def platform(actor, sim):
    return make_platform(actor, sim)


@pytest.fixture
def imported(actor, platform):
    import_from_platform(actor, platform)
    return {p.external_id: p for p in ChannelPackage.objects.filter(platform=platform)}


@pytest.fixture
def tv(actor, imported):
    """Main product "tv" granting "basic" (plan tv-monthly); add-on "sports" sold from its package."""
    from tripleplay.iptv.packages import link_package, sell_package_as_addon

    tv = catalog_services.create_product(actor, code="tv", name="TV", kind="main", currency="USD", services=["iptv"])
    tv_plan = catalog_services.create_plan(actor, tv, code="tv-monthly", name="TV monthly", periodic_fee_minor=1500)
    link_package(actor, imported["basic"], tv)
    sports = sell_package_as_addon(actor, imported["sports"], code="sports-tv", currency="USD",
                                   plan={"code": "sports-tv-monthly", "name": "Sports", "periodic_fee_minor": 500})
    return {"tv": tv, "tv_plan": tv_plan, "sports_plan": sports.plans.get(), "packages": imported}


@pytest.fixture
def unreachable(actor):
    return configuration.create_platform(actor, code="gone", name="Gone", kind=KIND,
                                         base_url=f"http://127.0.0.1:{free_port()}", secret="x", timeout_seconds="2")


def new_account(finance, customer, *plans) -> dict:
    ids = [p if isinstance(p, int) else p.pk for p in plans]
    r = finance.post("/accounts", {"customer_id": customer.pk, "main_plan_id": ids[0], "addon_plan_ids": ids[1:],
                                   "login": f"tv-{customer.pk}"})
    assert r.status_code == 201, r.content
    return r.json()


def only_subscriber(api, account_id: int) -> dict:
    r = api.get("/iptv/subscribers", {"account_id": account_id})
    assert r.status_code == 200
    assert r.json()["count"] == 1
    return r.json()["items"][0]


# -- platforms ----------------------------------------------------------------------------------------------


def test_create_platform_never_echoes_the_secret(admin, finance, support, sim):
    body = {"code": "matrix-1", "name": "Matrix", "kind": KIND, "base_url": sim.url + "/", "username": "ops",
            "secret": NEW_SECRET, "timeout_seconds": 2.5, "options": {"page_size": 50}, "enabled": True}
    r = admin.post("/iptv/platforms", body)
    assert r.status_code == 201, r.content
    assert NEW_SECRET.encode() not in r.content
    out = r.json()
    pid = out.pop("id")
    assert out == {"code": "matrix-1", "name": "Matrix", "kind": KIND, "base_url": sim.url, "username": "ops",
                   "has_secret": True, "timeout_seconds": 2.5, "options": {"page_size": 50}, "enabled": True,
                   "has_inbound_token": False, "has_inbound_secret": False, "created_at": T}
    platform = Platform.objects.get(pk=pid)
    assert platform.secret_encrypted and NEW_SECRET not in platform.secret_encrypted

    assert support.get(f"/iptv/platforms/{pid}").json() == {"id": pid, **out}
    listed = support.get("/iptv/platforms")
    assert listed.json() == {"items": [{"id": pid, **out}], "count": 1}
    assert NEW_SECRET.encode() not in listed.content
    audit = admin.get("/audit", {"action": "platform.created"})
    assert audit.status_code == 200 and NEW_SECRET.encode() not in audit.content

    minimal = admin.post("/iptv/platforms", {"code": "m2", "name": "M2", "kind": KIND, "base_url": sim.url})
    assert minimal.status_code == 201
    assert {k: minimal.json()[k] for k in ("has_secret", "timeout_seconds", "options", "enabled", "username")} == {
        "has_secret": False, "timeout_seconds": 10.0, "options": {}, "enabled": True, "username": ""}

    before = (snapshot(), Platform.objects.count())
    for caller in (finance, support):
        r = caller.post("/iptv/platforms", {**body, "code": "matrix-2"})
        assert (r.status_code, error_of(r)["code"]) == (403, "permission_denied")
    r = admin.post("/iptv/platforms", {**body, "code": "matrix-3", "kind": "no-such-platform"})
    assert (r.status_code, error_of(r)["code"]) == (422, "invalid_input")
    assert error_of(r)["details"]["field"] == "kind"
    r = admin.post("/iptv/platforms", body)
    assert r.status_code == 409
    assert error_of(r) == {"code": "duplicate", "message": "a platform with code 'matrix-1' exists",
                           "details": {"field": "code"}}
    assert (snapshot(), Platform.objects.count()) == before


@pytest.mark.parametrize("change", [
    {"timeout_seconds": "10"},
    {"timeout_seconds": True},
    {"timeout_seconds": 0},
    {"timeout_seconds": 121},
    {"base_url": "ftp://example.com"},
    {"code": "Has Spaces"},
    {"options": []},
    {"enabled": "yes"},
    {"secret_encrypted": "x"},
])
def test_create_platform_bad_input(admin, sim, change):
    body = {"code": "m", "name": "M", "kind": KIND, "base_url": sim.url, **change}
    before = (snapshot(), Platform.objects.count())
    r = admin.post("/iptv/platforms", body)
    assert (r.status_code, error_of(r)["code"]) == (422, "invalid_input"), r.content
    assert (snapshot(), Platform.objects.count()) == before


def test_patch_platform_secret_is_write_only(admin, finance, platform):
    r = admin.patch(f"/iptv/platforms/{platform.pk}", {"name": "Matrix B", "secret": NEW_SECRET, "timeout_seconds": 3})
    assert r.status_code == 200, r.content
    assert NEW_SECRET.encode() not in r.content
    body = r.json()
    assert (body["name"], body["has_secret"], body["timeout_seconds"], body["code"]) == ("Matrix B", True, 3.0, KIND)
    platform.refresh_from_db()
    assert configuration.secrets.decrypt(platform.secret_encrypted) == NEW_SECRET
    assert admin.patch(f"/iptv/platforms/{platform.pk}", {"secret": ""}).json()["has_secret"] is False
    assert admin.patch(f"/iptv/platforms/{platform.pk}", {}).status_code == 200
    for change in ({"code": "other"}, {"kind": "minerva"}, {"name": None}, {"timeout_seconds": "3"}):
        r = admin.patch(f"/iptv/platforms/{platform.pk}", change)
        assert (r.status_code, error_of(r)["code"]) == (422, "invalid_input"), change
    r = finance.patch(f"/iptv/platforms/{platform.pk}", {"name": "x"})
    assert r.status_code == 403
    assert admin.patch("/iptv/platforms/999999", {"name": "x"}).status_code == 404
    assert admin.get("/iptv/platforms/99999999999999999999").status_code == 404


def test_inbound_token_is_shown_once(admin, finance, support, platform):
    r = admin.post(f"/iptv/platforms/{platform.pk}/inbound-token")
    assert r.status_code == 201
    assert set(r.json()) == {"token"}
    token = r.json()["token"]
    assert token.startswith("tpp_")
    assert configuration.platform_for_inbound_token(token) == platform
    got = support.get(f"/iptv/platforms/{platform.pk}")
    assert got.json()["has_inbound_token"] is True
    assert token.encode() not in got.content and token[:10].encode() not in got.content
    platform.refresh_from_db()
    assert platform.inbound_token_hash.encode() not in got.content
    for caller in (finance, support):
        assert caller.post(f"/iptv/platforms/{platform.pk}/inbound-token").status_code == 403
    second = admin.post(f"/iptv/platforms/{platform.pk}/inbound-token").json()["token"]
    assert configuration.platform_for_inbound_token(token) is None  # replaced
    assert configuration.platform_for_inbound_token(second) == platform


def test_platform_kinds(support):
    r = support.get("/iptv/platform-kinds")
    assert r.status_code == 200
    kinds = {k["kind"]: k for k in r.json()}
    assert kinds[KIND] == {"kind": KIND, "label": "MatrixStream subscriber API (JSON REST, modelled)", "modelled": True}
    assert all(set(k) == {"kind", "label", "modelled"} for k in r.json())


def test_connection_test(admin, finance, support, sim, platform, unreachable):
    r = finance.post(f"/iptv/platforms/{platform.pk}/test")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["ok"], body["error"], body["transient"]) == (True, None, None)
    assert body["exchanges"] and body["exchanges"][-1]["status"] == 200
    assert sim.password.encode() not in str(body["exchanges"]).encode()

    r = admin.post(f"/iptv/platforms/{unreachable.pk}/test")
    assert r.status_code == 200
    body = r.json()
    assert (body["ok"], body["transient"], body["detail"], body["exchanges"]) == (False, True, None, [])
    assert "ConnectError" in body["error"]

    admin.patch(f"/iptv/platforms/{platform.pk}", {"secret": WRONG_SECRET})
    body = admin.post(f"/iptv/platforms/{platform.pk}/test").json()
    assert (body["ok"], body["transient"]) == (False, False)
    assert WRONG_SECRET not in str(body)
    assert support.post(f"/iptv/platforms/{platform.pk}/test").status_code == 403
    assert admin.post("/iptv/platforms/999999/test").status_code == 404


# -- import -------------------------------------------------------------------------------------------------


def test_import_dry_run_then_apply(admin, finance, support, sim, platform):
    r = admin.post(f"/iptv/platforms/{platform.pk}/import", {})
    assert r.status_code == 200, r.content
    empty = {"created": [], "updated": [], "retired": [], "unchanged": []}
    dry = {"platform": KIND, "applied": False, "packages": {**empty, "created": DEFAULT_IDS}, "ppv_events": empty,
           "changes": {}}
    assert r.json() == dry
    assert ChannelPackage.objects.count() == 0  # a dry run changes nothing
    assert support.get("/iptv/packages").json() == {"items": [], "count": 0}

    r = admin.post(f"/iptv/platforms/{platform.pk}/import", {"apply": True})
    assert r.json() == {**dry, "applied": True}
    assert [p["external_id"] for p in support.get("/iptv/packages").json()["items"]] == DEFAULT_IDS

    sim.set_packages([
        {"external_id": "basic", "name": "Basic TV", "kind": "channel", "channels": ["news-1", "ent-1", "ent-2"]},
        {"external_id": "sports", "name": "Sports Pack HD", "kind": "channel", "channels": ["sport-1"]},
        {"external_id": "movies", "name": "Movies Pack", "kind": "channel", "channels": ["movie-1", "movie-2"]},
        {"external_id": "vod-plus", "name": "VOD Plus", "kind": "service", "channels": []},
        {"external_id": "docs", "name": "Documentaries", "kind": "channel", "channels": ["doc-1"]},
    ])
    changed = {"created": ["docs"], "updated": ["sports"], "retired": ["kids"], "unchanged": ["basic", "movies", "vod-plus"]}
    changes = {"sports": {"name": ["Sports Pack", "Sports Pack HD"], "channels": [["sport-1", "sport-2"], ["sport-1"]]}}
    r = admin.post(f"/iptv/platforms/{platform.pk}/import", {"apply": False})
    assert r.json() == {"platform": KIND, "applied": False, "packages": changed, "ppv_events": empty, "changes": changes}
    assert not ChannelPackage.objects.filter(external_id="docs").exists()
    r = admin.post(f"/iptv/platforms/{platform.pk}/import", {"apply": True})
    assert r.json() == {"platform": KIND, "applied": True, "packages": changed, "ppv_events": empty, "changes": changes}

    def ids(**params):
        return [p["external_id"] for p in support.get("/iptv/packages", params).json()["items"]]

    assert ids(status="retired") == ["kids"]
    assert ids(status="active", platform_id=platform.pk) == ["basic", "docs", "movies", "sports", "vod-plus"]
    assert ids(platform_id=999999) == []
    assert support.get("/iptv/packages", {"status": "gone"}).status_code == 422
    sports = ChannelPackage.objects.get(external_id="sports")
    got = support.get(f"/iptv/packages/{sports.pk}").json()
    assert got == {"id": sports.pk, "platform_id": platform.pk, "platform_code": KIND, "external_id": "sports",
                   "name": "Sports Pack HD", "kind": "channel", "description": "", "channels": ["sport-1"],
                   "status": "active", "first_seen_at": T, "updated_at": T, "retired_at": None, "products": []}
    assert support.get("/iptv/packages/999999").status_code == 404

    before = ChannelPackage.objects.count()
    for caller in (finance, support):
        assert caller.post(f"/iptv/platforms/{platform.pk}/import", {"apply": True}).status_code == 403
    r = admin.post(f"/iptv/platforms/{platform.pk}/import", {"apply": "yes"})
    assert (r.status_code, error_of(r)["code"]) == (422, "invalid_input")
    assert ChannelPackage.objects.count() == before


def test_import_from_an_unreachable_platform_is_502(admin, unreachable, platform):
    r = admin.post(f"/iptv/platforms/{unreachable.pk}/import", {"apply": True})
    assert r.status_code == 502
    error = error_of(r)
    assert error["code"] == "platform_unavailable"
    assert error["message"].startswith("platform 'gone': GET /api/v2/products: ConnectError")
    assert (error["details"]["platform"], error["details"]["transient"]) == ("gone", True)
    r = admin.post(f"/iptv/platforms/{unreachable.pk}/reconcile", {})
    assert (r.status_code, error_of(r)["code"]) == (502, "platform_unavailable")

    admin.patch(f"/iptv/platforms/{platform.pk}", {"secret": WRONG_SECRET})
    r = admin.post(f"/iptv/platforms/{platform.pk}/import", {"apply": True})
    assert r.status_code == 502
    error = error_of(r)
    assert (error["code"], error["details"]["transient"]) == ("platform_error", False)
    assert WRONG_SECRET.encode() not in r.content
    assert ChannelPackage.objects.count() == 0


def test_ppv_events(support, actor, platform):
    events = [PpvEventInfo("fight-night", "Fight Night Live", 1999, "USD", content_owner="Ringside Media"),
              PpvEventInfo("premiere", "Premiere", 500, "JPY")]
    import_catalog(actor, platform, [PackageInfo("basic", "Basic")], events)
    import_catalog(actor, platform, [PackageInfo("basic", "Basic")], events[:1])  # premiere retired
    r = support.get("/iptv/ppv-events")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(e["external_id"], e["status"], e["price"]) for e in items] == [
        ("fight-night", "active", {"amount_minor": 1999, "amount": "19.99", "currency": "USD"}),
        ("premiere", "retired", {"amount_minor": 500, "amount": "500", "currency": "JPY"}),
    ]
    first = items[0]
    assert first == {"id": first["id"], "platform_id": platform.pk, "platform_code": KIND, "external_id": "fight-night",
                     "title": "Fight Night Live", "price": first["price"], "starts_at": None, "ends_at": None,
                     "content_owner": "Ringside Media", "status": "active", "first_seen_at": T, "updated_at": T,
                     "retired_at": None}
    assert [e["external_id"] for e in support.get("/iptv/ppv-events", {"status": "active"}).json()["items"]] == [
        "fight-night"]
    assert support.get("/iptv/ppv-events", {"platform_id": platform.pk + 1}).json()["count"] == 0


# -- packages as products, then provisioning ----------------------------------------------------------------


def test_link_sell_and_provision_an_account(admin, finance, support, actor, customer, sim, platform, imported):
    basic, sports = imported["basic"], imported["sports"]
    tv = admin.post("/products", {"code": "tv", "name": "TV", "kind": "main", "currency": "USD", "services": ["iptv"]})
    tv_id = tv.json()["id"]
    tv_plan = admin.post("/plans", {"product_id": tv_id, "code": "tv-monthly", "name": "TV", "periodic_fee_minor": 1500})

    r = admin.post(f"/iptv/packages/{basic.pk}/link", {"product_id": tv_id})
    assert r.status_code == 200, r.content
    assert r.json()["products"] == [{"id": tv_id, "code": "tv", "name": "TV", "kind": "main", "status": "active"}]
    r = admin.post(f"/iptv/packages/{basic.pk}/link", {"product_id": tv_id})
    assert (r.status_code, error_of(r)["code"]) == (409, "duplicate")
    r = admin.post(f"/iptv/packages/{basic.pk}/link", {"product_id": 999999})
    assert r.status_code == 404
    assert admin.post("/iptv/packages/999999/link", {"product_id": tv_id}).status_code == 404
    net = catalog_services.create_product(actor, code="net", name="Net", kind="main", currency="USD",
                                          services=["data"])
    r = admin.post(f"/iptv/packages/{basic.pk}/link", {"product_id": net.pk})
    assert (r.status_code, error_of(r)["code"]) == (422, "not_iptv_product")
    assert finance.post(f"/iptv/packages/{basic.pk}/link", {"product_id": tv_id}).status_code == 403

    sell = {"code": "sports-tv", "currency": "USD",
            "plan": {"code": "sports-tv-monthly", "name": "Sports monthly", "periodic_fee_minor": 500,
                     "minimum_term_periods": 3, "alignment": "billing_period"}}
    r = admin.post(f"/iptv/packages/{sports.pk}/sell", sell)
    assert r.status_code == 201, r.content
    product = r.json()
    assert (product["code"], product["name"], product["kind"], product["currency"], product["services"]) == (
        "sports-tv", "Sports Pack", "addon", "USD", ["iptv"])
    assert [(p["code"], p["periodic_fee"], p["minimum_term_periods"], p["alignment"]) for p in product["plans"]] == [
        ("sports-tv-monthly", {"amount_minor": 500, "amount": "5.00", "currency": "USD"}, 3, "billing_period")]
    r = admin.post(f"/iptv/packages/{sports.pk}/sell", sell)
    assert (r.status_code, error_of(r)["code"]) == (409, "duplicate")
    for bad in ({**sell, "plan": {**sell["plan"], "product_id": 1}}, {**sell, "plan": {**sell["plan"],
                "periodic_fee_minor": 5.0}}, {**sell, "price": 1}, {**sell, "plan": {**sell["plan"],
                "alignment": "calendar"}}):
        r = admin.post(f"/iptv/packages/{sports.pk}/sell", bad)
        assert (r.status_code, error_of(r)["code"]) == (422, "invalid_input")
    assert finance.post(f"/iptv/packages/{sports.pk}/sell", {**sell, "code": "x"}).status_code == 403
    listed = support.get("/iptv/packages", {"platform_id": platform.pk}).json()["items"]
    assert {p["external_id"]: [x["code"] for x in p["products"]] for p in listed} == {
        "basic": ["tv"], "kids": [], "movies": [], "sports": ["sports-tv"], "vod-plus": []}

    account = new_account(finance, customer, tv_plan.json()["id"], product["plans"][0]["id"])
    sub = only_subscriber(support, account["id"])
    command = ProvisioningCommand.objects.get()
    assert sub == {
        "id": sub["id"], "account_id": account["id"], "customer_id": customer.pk, "platform_id": platform.pk,
        "platform_code": KIND, "external_id": f"tp-{account['id']}",
        "desired": {"exists": True, "enabled": True, "packages": ["basic", "sports"]},
        "applied": {"exists": None, "enabled": None, "packages": None},
        "status": "in_progress", "message": "Account/New queued", "attempts": 0, "next_attempt_at": T,
        "pending_command": {"id": command.pk, "event": "Account/New", "created_at": T, "attempts": 0},
        "updated_at": T,
    }
    assert support.get("/iptv/queue").json() == [
        {"platform": KIND, "ok": 0, "in_progress": 1, "retry": 0, "failed": 0, "queued": 1}]

    assert drain() == 1
    got = support.get(f"/iptv/subscribers/{sub['id']}").json()
    assert {k: got[k] for k in ("status", "message", "attempts", "next_attempt_at", "pending_command")} == {
        "status": "ok", "message": "", "attempts": 0, "next_attempt_at": None, "pending_command": None}
    assert got["applied"] == {"exists": True, "enabled": True, "packages": ["basic", "sports"]}
    assert sorted(sim.subscribers()[sub["external_id"]]["packages"]) == ["basic", "sports"]
    history = support.get(f"/iptv/subscribers/{sub['id']}/commands").json()
    assert history["count"] == 1
    done = history["items"][0]
    assert {k: done[k] for k in ("id", "event", "status", "attempts", "created_at", "finished_at", "last_error",
                                 "actor_name", "subscriber_id", "account_id", "platform_code", "external_id")} == {
        "id": command.pk, "event": "Account/New", "status": "done", "attempts": 1, "created_at": T, "finished_at": T,
        "last_error": "", "actor_name": "test-finance", "subscriber_id": sub["id"], "account_id": account["id"],
        "platform_code": KIND, "external_id": sub["external_id"]}
    assert done["desired"]["packages"] == ["basic", "sports"] and done["desired"]["login"] == account["login"]
    assert [(x["method"], x["status"]) for x in done["exchanges"]] == [("POST", 201)]
    assert support.get("/iptv/queue").json() == [
        {"platform": KIND, "ok": 1, "in_progress": 0, "retry": 0, "failed": 0, "queued": 0}]

    # nothing to retry or cancel
    before = (snapshot(), ProvisioningCommand.objects.count())
    r = finance.post(f"/iptv/subscribers/{sub['id']}/retry")
    assert (r.status_code, error_of(r)["code"]) == (409, "nothing_to_retry")
    r = admin.post(f"/iptv/subscribers/{sub['id']}/cancel")
    assert (r.status_code, error_of(r)["code"]) == (409, "nothing_to_cancel")
    assert support.post(f"/iptv/subscribers/{sub['id']}/retry").status_code == 403
    assert support.post(f"/iptv/subscribers/{sub['id']}/cancel").status_code == 403
    assert finance.post("/iptv/subscribers/999999/retry").status_code == 404
    assert (snapshot(), ProvisioningCommand.objects.count()) == before

    # unlinking re-provisions the account without the package
    r = admin.post(f"/iptv/packages/{sports.pk}/unlink", {"product_id": product["id"]})
    assert (r.status_code, r.json()["products"]) == (200, [])
    r = admin.post(f"/iptv/packages/{sports.pk}/unlink", {"product_id": product["id"]})
    assert (r.status_code, error_of(r)["code"]) == (409, "not_linked")
    queued = support.get(f"/iptv/subscribers/{sub['id']}").json()
    assert (queued["status"], queued["desired"]["packages"], queued["pending_command"]["event"]) == (
        "in_progress", ["basic"], "Product/Packages/Changed")
    drain()
    assert support.get(f"/iptv/subscribers/{sub['id']}").json()["applied"]["packages"] == ["basic"]
    history = support.get(f"/iptv/subscribers/{sub['id']}/commands").json()["items"]
    assert [c["event"] for c in history] == ["Product/Packages/Changed", "Account/New"]  # newest first

    commands = support.get("/iptv/commands", {"platform_id": platform.pk, "status": "done", "limit": 1}).json()
    assert (commands["count"], [c["event"] for c in commands["items"]]) == (2, ["Product/Packages/Changed"])
    assert support.get("/iptv/commands", {"status": "failed"}).json() == {"items": [], "count": 0, "next_cursor": None}
    assert support.get("/iptv/commands", {"status": "nope"}).status_code == 422
    assert support.get("/iptv/subscribers", {"status": "ok"}).json()["count"] == 1
    assert support.get("/iptv/subscribers", {"platform_id": platform.pk + 1}).json()["count"] == 0


def test_a_failing_platform_shows_the_exchange_never_the_secret(admin, finance, support, customer, sim, platform, tv):
    r = admin.patch(f"/iptv/platforms/{platform.pk}", {"secret": WRONG_SECRET})
    assert r.status_code == 200
    account = new_account(finance, customer, tv["tv_plan"], tv["sports_plan"])
    drain()
    sub = only_subscriber(support, account["id"])
    assert (sub["status"], sub["next_attempt_at"], sub["pending_command"]["event"]) == ("failed", None, "Account/New")
    assert sub["message"] == (f"PermanentError: MatrixStream create subscriber {sub['external_id']}: "
                              "HTTP 401 unauthorized: missing or invalid API key")
    history = support.get(f"/iptv/subscribers/{sub['id']}/commands")
    command = history.json()["items"][0]
    assert (command["status"], command["attempts"]) == ("failed", 1)
    assert command["last_error"]
    assert command["exchanges"][-1]["status"] in (401, 403)
    assert command["exchanges"][-1]["headers"]["X-Api-Key"] == "***"
    assert command["exchanges"][-1]["response"]  # the platform's answer, kept for the operator
    assert sim.subscribers() == {}
    failed = support.get("/iptv/commands", {"status": "failed"})
    assert support.get("/iptv/queue").json()[0]["failed"] == 1
    bodies = [r, history, failed, support.get("/iptv/subscribers"), support.get(f"/iptv/platforms/{platform.pk}"),
              support.get("/iptv/platforms"), admin.get("/audit")]
    for response in bodies:
        assert response.status_code == 200
        assert WRONG_SECRET.encode() not in response.content

    # the right secret, then an operator retry
    admin.patch(f"/iptv/platforms/{platform.pk}", {"secret": sim.password})
    r = finance.post(f"/iptv/subscribers/{sub['id']}/retry")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["pending_command"]["event"]) == ("in_progress", "Operator/Retry")
    drain()
    done = support.get(f"/iptv/subscribers/{sub['id']}").json()
    assert (done["status"], done["applied"]) == ("ok", {"exists": True, "enabled": True, "packages": ["basic", "sports"]})
    events = [(c["event"], c["status"]) for c in support.get(f"/iptv/subscribers/{sub['id']}/commands").json()["items"]]
    assert events == [("Operator/Retry", "done"), ("Account/New", "failed")]


def test_cancel_drops_the_queue(admin, finance, support, customer, sim, platform, tv):
    sim.set_faults(error_rate=1.0)
    account = new_account(finance, customer, tv["tv_plan"])
    sub = only_subscriber(support, account["id"])
    r = finance.post(f"/iptv/subscribers/{sub['id']}/cancel")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["status"], body["pending_command"], body["next_attempt_at"]) == ("failed", None, None)
    assert body["message"] == "cancelled by test-finance: the platform may differ from billing until reconciled"
    history = support.get(f"/iptv/subscribers/{sub['id']}/commands").json()["items"]
    assert [(c["status"], c["finished_at"]) for c in history] == [("cancelled", T)]
    r = finance.post(f"/iptv/subscribers/{sub['id']}/cancel")
    assert (r.status_code, error_of(r)["code"]) == (409, "nothing_to_cancel")
    assert drain() == 0


def test_reconcile_reports_and_repairs_drift(admin, finance, support, customer, sim, platform, tv):
    from tripleplay.api.tests.conftest import new_customer

    accounts = [new_account(finance, c, tv["tv_plan"], tv["sports_plan"])
                for c in (customer, new_customer("B"), new_customer("C"))]
    drain()
    a0, a1, a2 = (f"tp-{a['id']}" for a in accounts)
    sim.delete_subscriber(a0)
    sim.put_subscriber(a1, packages=["basic"])
    sim.put_subscriber(a2, enabled=False)
    sim.put_subscriber("legacy-7", enabled=True, packages=["kids"])
    want = {"exists": True, "enabled": True, "packages": ["basic", "sports"]}
    drift = [
        {"kind": "foreign", "subscriber_id": "legacy-7", "account_id": None, "expected": None,
         "actual": {"exists": True, "enabled": True, "packages": ["kids"]}},
        {"kind": "missing", "subscriber_id": a0, "account_id": accounts[0]["id"], "expected": want, "actual": None},
        {"kind": "wrong_packages", "subscriber_id": a1, "account_id": accounts[1]["id"], "expected": want,
         "actual": {"exists": True, "enabled": True, "packages": ["basic"]}},
        {"kind": "wrong_status", "subscriber_id": a2, "account_id": accounts[2]["id"], "expected": want,
         "actual": {"exists": True, "enabled": False, "packages": ["basic", "sports"]}},
    ]
    summary = {"foreign": 1, "missing": 1, "wrong_packages": 1, "wrong_status": 1}

    def ordered(report):
        return {**report, "drift": sorted(report["drift"], key=lambda d: d["subscriber_id"])}

    r = admin.post(f"/iptv/platforms/{platform.pk}/reconcile", {})
    assert r.status_code == 200, r.content
    assert ordered(r.json()) == {"platform": KIND, "checked": 3, "in_sync": 0, "drift": drift, "repaired": 0,
                                 "summary": summary}
    assert ProvisioningCommand.objects.filter(status="pending").count() == 0  # a report only
    assert finance.post(f"/iptv/platforms/{platform.pk}/reconcile", {"repair": True}).status_code == 403
    assert support.post(f"/iptv/platforms/{platform.pk}/reconcile", {}).status_code == 403

    r = admin.post(f"/iptv/platforms/{platform.pk}/reconcile", {"repair": True})
    assert ordered(r.json()) == {"platform": KIND, "checked": 3, "in_sync": 0, "drift": drift, "repaired": 3,
                                 "summary": summary}
    assert support.get("/iptv/subscribers", {"status": "in_progress"}).json()["count"] == 3
    drain()
    after = admin.post(f"/iptv/platforms/{platform.pk}/reconcile", {"repair": False}).json()
    assert after == {"platform": KIND, "checked": 3, "in_sync": 3, "drift": drift[:1], "repaired": 0,
                     "summary": {"foreign": 1}}
    assert "legacy-7" in sim.subscribers()  # never touched
    assert Subscriber.objects.filter(status="ok").count() == 3


# -- authentication -----------------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/iptv/platform-kinds"), ("get", "/iptv/platforms"), ("post", "/iptv/platforms"),
    ("get", "/iptv/platforms/1"), ("patch", "/iptv/platforms/1"), ("post", "/iptv/platforms/1/inbound-token"),
    ("post", "/iptv/platforms/1/test"), ("post", "/iptv/platforms/1/import"), ("post", "/iptv/platforms/1/reconcile"),
    ("get", "/iptv/packages"), ("get", "/iptv/packages/1"), ("post", "/iptv/packages/1/link"),
    ("post", "/iptv/packages/1/unlink"), ("post", "/iptv/packages/1/sell"), ("get", "/iptv/ppv-events"),
    ("get", "/iptv/subscribers"), ("get", "/iptv/subscribers/1"), ("get", "/iptv/subscribers/1/commands"),
    ("post", "/iptv/subscribers/1/retry"), ("post", "/iptv/subscribers/1/cancel"), ("get", "/iptv/commands"),
    ("get", "/iptv/queue"),
    # the operator's TV-screen orders switch (tripleplay/api/orders.py, docs/orders.md)
    ("get", "/iptv/platforms/1/orderable"), ("put", "/iptv/platforms/1/orderable/1"),
    ("delete", "/iptv/platforms/1/orderable/1"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_unauthenticated_is_401(anon, platform, method, path):
    before = (snapshot(), Platform.objects.count())
    response = getattr(anon, method)(path, {}) if method != "get" else anon.get(path)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"
    assert (snapshot(), Platform.objects.count()) == before


def test_every_iptv_route_is_in_the_unauthenticated_test():
    from tripleplay.api.main import api

    routes = {(method, re.sub(r"\{\w+\}", "1", path.removeprefix("/api/v1")))
              for path, operations in api.get_openapi_schema()["paths"].items() if "/iptv/" in path
              for method in operations}
    assert routes == set(ENDPOINTS)
