"""The IPTV lifecycle against every platform: billing changes in tripleplay reach a simulator
process over real HTTP, and the simulator ends up holding exactly what billing says."""

from __future__ import annotations

import pytest

from tripleplay.customers.services import (
    add_addon,
    change_account_status,
    change_customer_status,
    change_main_product,
    create_account,
    remove_addon,
)
from tripleplay.iptv.models import CommandStatus, ProvisioningCommand, ProvisioningStatus, Subscriber
from tripleplay.iptv.platforms.registry import kinds
from tripleplay.iptv.tests.conftest import drain, make_platform, make_tv_catalog


@pytest.fixture(params=kinds())
def tv(request, db, actor, simulator_pool):
    sim = simulator_pool(request.param)
    platform = make_platform(actor, sim)
    return sim, make_tv_catalog(actor, platform)


def on_platform(sim, sid):
    sub = sim.subscribers().get(sid)
    return None if sub is None else (sub["enabled"], sorted(sub["packages"]))


def test_full_lifecycle_reaches_the_platform(tv, actor, make_customer):
    sim, cat = tv
    customer = make_customer(balance_model="postpaid", credit_limit_minor=10000)
    account = create_account(actor, customer, main_plan=cat.tv_plan, addon_plans=[cat.sports_plan, cat.movies_plan],
                             login="ada-tv", device_id="00:1A:79:AA:BB:CC")
    sid = f"tp-{account.pk}"
    sub = Subscriber.objects.get(account=account)
    assert (sub.external_id, sub.status, sub.pending_command.event) == (sid, "in_progress", "Account/New")
    assert on_platform(sim, sid) is None  # nothing is sent inside the billing transaction

    drain()
    assert on_platform(sim, sid) == (True, ["basic", "movies", "sports"])
    sub.refresh_from_db()
    assert (sub.status, sub.pending_command_id, sub.applied_enabled) == (ProvisioningStatus.OK, None, True)

    sports = account.products.get(product__code="sports", end_date__isnull=True)
    remove_addon(actor, account, sports.pk)
    drain()
    assert on_platform(sim, sid) == (True, ["basic", "movies"])

    add_addon(actor, account, cat.kids_plan)
    drain()
    assert on_platform(sim, sid) == (True, ["basic", "kids", "movies"])

    change_customer_status(actor, customer, "suspended", reason="overdue")
    drain()
    assert on_platform(sim, sid) == (False, ["basic", "kids", "movies"])

    change_customer_status(actor, customer, "active", reason="paid")
    drain()
    assert on_platform(sim, sid) == (True, ["basic", "kids", "movies"])

    change_account_status(actor, account, "blocked", reason="fraud check")
    drain()
    assert on_platform(sim, sid)[0] is False
    change_account_status(actor, account, "active", reason="cleared")
    drain()
    assert on_platform(sim, sid)[0] is True

    change_main_product(actor, account, cat.internet_plan)  # a product without IPTV: stays, disabled
    drain()
    assert on_platform(sim, sid) == (False, ["kids", "movies"])
    change_main_product(actor, account, cat.tv_plan)
    drain()
    assert on_platform(sim, sid) == (True, ["basic", "kids", "movies"])

    change_account_status(actor, account, "closed", reason="moved away")
    drain()
    assert on_platform(sim, sid) is None
    events = list(ProvisioningCommand.objects.filter(subscriber__account=account).values_list("event", "status"))
    assert events == [
        ("Account/New", "done"), ("Account/ProductAddon/Deleted", "done"), ("Account/ProductAddon/Inserted", "done"),
        ("Customer/Status/Suspend", "done"), ("Customer/Status/Unsuspend", "done"), ("Account/Blocked", "done"),
        ("Account/Unblocked", "done"), ("Account/Product/Changed", "done"), ("Account/Product/Changed", "done"),
        ("Account/Status/Closed", "done"),
    ]


def test_changes_made_before_delivery_collapse_into_the_latest_state(tv, actor, make_customer):
    sim, cat = tv
    customer = make_customer()
    account = create_account(actor, customer, main_plan=cat.tv_plan, addon_plans=[cat.sports_plan])
    add_addon(actor, account, cat.movies_plan)
    change_customer_status(actor, customer, "blocked", reason="check")
    commands = list(ProvisioningCommand.objects.filter(subscriber__account=account).order_by("id"))
    assert [c.status for c in commands] == [CommandStatus.SUPERSEDED, CommandStatus.SUPERSEDED, CommandStatus.PENDING]
    drain()
    assert on_platform(sim, f"tp-{account.pk}") == (False, ["basic", "movies", "sports"])
    commands = list(ProvisioningCommand.objects.filter(subscriber__account=account).order_by("id"))
    # Only the newest state was ever sent: the superseded commands made no call at all.
    assert [(c.status, c.attempts, len(c.exchanges) > 0) for c in commands] == [
        (CommandStatus.SUPERSEDED, 0, False), (CommandStatus.SUPERSEDED, 0, False), (CommandStatus.DONE, 1, True)]
    assert all(e["method"] != "DELETE" for e in commands[2].exchanges)


def details_on_platform(kind: str, sub: dict) -> tuple[str, str, str]:
    """(login, device, full name) as each simulator keeps them."""
    if kind == "matrixstream":
        profile = sub["profile"]
        return profile["login"], ",".join(sub["devices"]), profile["full_name"]
    if kind == "tvip":
        return sub["login"], ",".join(sub["devices"]), sub.get("fullname", "")
    if kind == "minerva":
        return sub["login"], ",".join(sub["devices"]), sub["full_name"]
    if kind == "ministra":
        return sub["login"], sub["stb_mac"], sub["full_name"]
    return sub["login"] or "", sub["device_id"] or "", sub["full_name"]


def test_a_new_device_login_and_name_reach_the_platform(tv, actor, make_customer):
    """A set-top box swap (new device id), a new login and a renamed customer are provisioned like any
    other change: one command per change, the platform ends up with billing's details, and state and
    packages are left as they were."""
    from tripleplay.customers.services import update_account, update_customer

    sim, cat = tv
    kind = sim.name
    customer = make_customer(name="Ada Lovelace")
    account = create_account(actor, customer, main_plan=cat.tv_plan, addon_plans=[cat.sports_plan],
                             login="ada-tv", device_id="00:1A:79:AA:BB:CC")
    sid = f"tp-{account.pk}"
    drain()
    assert details_on_platform(kind, sim.subscribers()[sid]) == ("ada-tv", "00:1A:79:AA:BB:CC", "Ada Lovelace")

    update_account(actor, account, device_id="00:1A:79:DD:EE:FF", login="ada-2")
    update_customer(actor, customer, name="Ada King")
    drain()
    assert details_on_platform(kind, sim.subscribers()[sid]) == ("ada-2", "00:1A:79:DD:EE:FF", "Ada King")
    assert on_platform(sim, sid) == (True, ["basic", "sports"])
    sub = Subscriber.objects.get(account=account)
    assert (sub.status, sub.applied_details) == (ProvisioningStatus.OK, {
        "login": "ada-2", "device_id": "00:1A:79:DD:EE:FF", "full_name": "Ada King", "phone": ""})
    commands = list(ProvisioningCommand.objects.filter(subscriber=sub).order_by("id").values_list("event", "status"))
    # Both changes were made before the worker ran: the newer state superseded the older command.
    assert commands == [("Account/New", "done"), ("Account/Updated", "superseded"), ("Customer/Updated", "done")]

    # An update that changes nothing a platform keeps (the customer's e-mail) queues nothing.
    update_customer(actor, customer, email="ada@example.net")
    assert ProvisioningCommand.objects.filter(subscriber=sub).count() == 3
