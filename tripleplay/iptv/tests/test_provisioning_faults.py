"""Nothing is lost: 500 billing changes across 100 accounts spread over all seven platforms, 30% of
platform calls failing (errors, timeouts, dropped connections, answers lost after the change was
applied), and the worker process killed with SIGKILL mid-run and replaced. In the end every
subscriber on every simulator is exactly what billing says, no command is left behind, and each
account's final state is its latest."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from tripleplay.customers.models import Account, Status
from tripleplay.customers.services import (
    add_addon,
    change_account_status,
    change_customer_status,
    change_main_product,
    create_account,
    remove_addon,
)
from tripleplay.iptv.models import ChannelPackage, CommandStatus, ProvisioningCommand, ProvisioningStatus, Subscriber
from tripleplay.iptv.platforms.registry import kinds
from tripleplay.iptv.provisioning import desired_states
from tripleplay.iptv.tests.conftest import make_platform, make_tv_catalog
from tripleplay.simulators.base import DEFAULT_PACKAGES
from tripleplay.simulators.testing import SimulatorProcess

ACCOUNTS = 100
CHANGES = 500
FAULTS = {"error_rate": 0.10, "timeout_rate": 0.05, "timeout_sleep_s": 2.0, "drop_rate": 0.05,
          "drop_after_rate": 0.10, "seed": 42}


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(name: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "tripleplay.settings"}
    args = [sys.executable, "-m", "tripleplay.cli", "worker", "--name", name, "--threads", "4", "--batch-size", "20",
            "--lease-seconds", "8", "--poll-seconds", "0.1", "--retry-base-seconds", "0.05",
            "--retry-cap-seconds", "0.5", "--no-jobs"]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def make_changes(actor, catalogs, accounts, rng: random.Random, count: int) -> int:
    made = 0
    while made < count:
        account = rng.choice(accounts)
        cat = catalogs[account.pk]
        addons = [cat.sports_plan, cat.movies_plan, cat.kids_plan]
        account.refresh_from_db()
        customer = account.customer
        customer.refresh_from_db()
        if account.status == Status.CLOSED:
            continue
        roll = rng.random()
        current = {a.plan_id: a for a in account.products.filter(end_date__isnull=True)}
        if roll < 0.35:
            missing = [p for p in addons if p.pk not in current]
            if missing:
                add_addon(actor, account, rng.choice(missing))
            else:
                remove_addon(actor, account, current[rng.choice(addons).pk].pk)
        elif roll < 0.55:
            present = [current[p.pk] for p in addons if p.pk in current]
            if not present:
                continue
            remove_addon(actor, account, rng.choice(present).pk)
        elif roll < 0.75:
            target = "suspended" if customer.status == Status.ACTIVE else "active"
            change_customer_status(actor, customer, target, reason="fault test")
        elif roll < 0.88:
            target = "blocked" if account.status == Status.ACTIVE else "active"
            change_account_status(actor, account, target, reason="fault test")
        elif roll < 0.98:
            main = next(a for a in current.values() if a.role == "main")
            plan = cat.internet_plan if main.plan_id == cat.tv_plan.pk else cat.tv_plan
            change_main_product(actor, account, plan)
        else:
            change_account_status(actor, account, "closed", reason="fault test")
        made += 1
    return made


@pytest.mark.django_db(transaction=True)
def test_nothing_is_lost_under_faults_and_a_killed_worker(actor, make_customer):
    rng = random.Random(2026)
    sims = {kind: SimulatorProcess(kind) for kind in kinds()}
    try:
        for sim in sims.values():
            sim.start()
        platforms, catalogs = {}, {}
        for kind, sim in sims.items():
            platforms[kind] = make_platform(actor, sim)
            catalogs[kind] = make_tv_catalog(actor, platforms[kind], suffix=f"-{kind}")
        accounts, account_catalog, account_kind = [], {}, {}
        for i in range(ACCOUNTS):
            kind = list(sims)[i % len(sims)]
            cat = catalogs[kind]
            account = create_account(actor, make_customer(), main_plan=cat.tv_plan, login=f"fault-{i}",
                                     addon_plans=rng.sample([cat.sports_plan, cat.movies_plan, cat.kids_plan],
                                                            rng.randint(0, 2)))
            accounts.append(account)
            account_catalog[account.pk], account_kind[account.pk] = cat, kind
        changes = ACCOUNTS + make_changes(actor, account_catalog, accounts, rng, (CHANGES - ACCOUNTS) // 2)
        for sim in sims.values():
            sim.set_faults(**FAULTS)
        first = start_worker("doomed")
        try:
            # More billing changes while the worker runs, then kill it mid-run: no clean shutdown.
            changes += make_changes(actor, account_catalog, accounts, rng, CHANGES - changes)
            deadline = time.monotonic() + 30
            while ProvisioningCommand.objects.filter(status=CommandStatus.DONE).count() < 20:
                assert first.poll() is None, first.stderr.read()
                assert time.monotonic() < deadline, "the first worker delivered nothing"
                time.sleep(0.1)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            second = start_worker("survivor")
            try:
                deadline = time.monotonic() + 150
                while Subscriber.objects.filter(pending_command__isnull=False).exists():
                    assert second.poll() is None, second.stderr.read()
                    assert time.monotonic() < deadline, "the queue did not drain"
                    time.sleep(0.2)
            finally:
                second.send_signal(signal.SIGTERM)
                assert second.wait(30) == 0  # graceful shutdown on SIGTERM
        finally:
            if first.poll() is None:
                first.kill()
        stats, platform_state = {}, {}
        for kind, sim in sims.items():
            sim.set_faults()
            stats[kind] = sim.state()["stats"]
            platform_state[kind] = sim.subscribers()
    finally:
        for sim in sims.values():
            sim.stop()

    assert changes == CHANGES
    requests = sum(s["requests"] for s in stats.values())
    assert sum(s["faults"] for s in stats.values()) > 0.2 * requests, stats  # the faults really happened
    assert sum(s["duplicates"] for s in stats.values()) > 0, stats  # lost answers re-sent with the same key
    # No command lost or stuck: every one delivered, or superseded by a newer state of its account.
    statuses = set(ProvisioningCommand.objects.values_list("status", flat=True))
    assert statuses <= {CommandStatus.DONE, CommandStatus.SUPERSEDED}, statuses
    assert set(Subscriber.objects.values_list("status", flat=True)) == {ProvisioningStatus.OK}
    # Every platform holds exactly billing's state, account by account.
    for kind, platform in platforms.items():
        # The simulators keep packages under their own keys; a platform may number them (TVIP TMS): by name.
        key_by_name = {p["name"]: p["external_id"] for p in DEFAULT_PACKAGES}
        key_of = {p.external_id: key_by_name[p.name] for p in ChannelPackage.objects.filter(platform=platform)}
        expected = {}
        for account in Account.objects.filter(pk__in=[a.pk for a in accounts if account_kind[a.pk] == kind]) \
                .select_related("customer"):
            d = desired_states(account)[platform.pk]
            if d.exists:
                expected[f"tp-{account.pk}"] = (d.enabled, sorted(key_of[p] for p in d.packages))
        actual = {sid: (s["enabled"], sorted(s["packages"])) for sid, s in platform_state[kind].items()}
        assert actual == expected, kind
