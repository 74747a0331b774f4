"""Fixtures for the radius tests: a real FreeRADIUS (Debian's) started from the repository's
configuration against pytest-django's live server, the simulated NAS as its own process, the
subscribers the tests log in (internet_service, internet_subscriber, volume_plan, volume_subscriber),
the rlm_rest calls the live server received (calls) and the SQL path's own role (sql_role, D300: on
PostgreSQL the FreeRADIUS of radius_server logs in as it)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.core.signals import request_started

from tripleplay import clock
from tripleplay.radius import server as freeradius

TOKEN = "radius-test-token-5f2c"
VOLUME_T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)  # the clock of the volume-priced world below
MIKROTIK_SECRET = "mikrotik-secret-1"
HUAWEI_SECRET = "huawei-secret-22"
HUAWEI_ADDRESS = "127.0.0.2"
PASSWORD = "s3cret-pw"  # internet_subscriber's internet password unless told

needs_freeradius = pytest.mark.skipif(not freeradius.installed(), reason="needs FreeRADIUS (Debian package freeradius)")


def _running(process):
    """A module fixture's body: ``process`` (started) yielded, stopped however the tests ended."""
    try:
        yield process
    finally:
        process.stop()


def _freeradius(live_server, tmp_path_factory, sql: dict):
    conf = tmp_path_factory.mktemp("freeradius")
    # On PostgreSQL with its SQL path (rlm_sql calling tripleplay's functions, D280) unless
    # TRIPLEPLAY_RADIUS_SQL=0; on SQLite rlm_rest only.
    settings = freeradius.Settings(tripleplay_url=live_server.url, token=TOKEN, auth_port=freeradius.free_udp_port(),
                                   acct_port=freeradius.free_udp_port(), threads=4, client_lifetime=3600, **sql)
    return freeradius.FreeradiusProcess(conf, settings).start()


@contextmanager
def sql_role():
    """The SQL path's role (radius.sqlrole, as `tripleplay radius-sql-role` makes it) on the test database,
    committed (autocommit: call it outside a test's transaction), with a name of its own (roles are the
    cluster's, shared by every test run on it) and a random password; (name, password); dropped after."""
    from django.db import connection

    from tripleplay.radius import sqlrole

    name, password = f"tp_radius_test_{os.getpid()}_{secrets.token_hex(4)}", secrets.token_hex(16)
    with connection.cursor() as cursor:
        sqlrole.ensure_role(cursor, name, password)
    try:
        yield name, password
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{name}"')  # its grants in this database
            cursor.execute(f'DROP ROLE "{name}"')


@pytest.fixture(scope="module")
def radius_server(live_server, tmp_path_factory, django_db_blocker):
    """The configuration as deployed: on PostgreSQL with the SQL path (TRIPLEPLAY_RADIUS_SQL on), into
    the test database, logged in as the SQL path's own role (D300: what it cannot do, it cannot do here
    either); on SQLite rest only."""
    with django_db_blocker.unblock():
        sql = freeradius.sql_settings_from_database()
    if not sql:
        yield from _running(_freeradius(live_server, tmp_path_factory, sql))
        return
    with django_db_blocker.unblock():
        role = sql_role()
        name, password = role.__enter__()
    try:
        process = _freeradius(live_server, tmp_path_factory, {**sql, "sql_user": name, "sql_password": password})
        rendered = (process.conf_dir / "mods" / "tripleplay_sql").read_text()
        if f'login = "{name}"' not in rendered:
            process.stop()
            pytest.fail("the rendered rlm_sql module does not log in as the SQL path's role")
        yield from _running(process)
    finally:
        with django_db_blocker.unblock():
            role.__exit__(None, None, None)


@pytest.fixture(scope="module")
def rest_radius_server(live_server, tmp_path_factory):
    """The rest-only configuration (TRIPLEPLAY_RADIUS_SQL=0, and what SQLite always has)."""
    yield from _running(_freeradius(live_server, tmp_path_factory, {}))


def _nas(radius_server, secret: str, bind: str):
    """The simulated NAS (its own process) at ``bind``, talking to ``radius_server`` with ``secret``."""
    from tripleplay.simulators.testing import NasProcess

    settings = radius_server.settings
    return NasProcess(auth_port=settings.auth_port, acct_port=settings.acct_port, secret=secret, bind=bind).start()


@pytest.fixture(scope="module")
def huawei_nas(radius_server):
    yield from _running(_nas(radius_server, HUAWEI_SECRET, HUAWEI_ADDRESS))


@pytest.fixture(scope="module")
def mikrotik_nas(radius_server):
    yield from _running(_nas(radius_server, MIKROTIK_SECRET, "127.0.0.1"))


@pytest.fixture
def aaa_token(settings):
    settings.TRIPLEPLAY_RADIUS_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def internet_service(actor, catalog):
    """catalog.internet's internet service with every reply attribute the rest path sends: 100 Mbit/s
    down, 20 up, pool-fiber, Session-Timeout 86400, Idle-Timeout 600, Acct-Interim-Interval 300."""
    from tripleplay.radius import services

    return services.set_internet_service(
        actor,
        catalog.internet,
        download_kbps=100_000,
        upload_kbps=20_000,
        address_pool="pool-fiber",
        session_timeout_seconds=86_400,
        idle_timeout_seconds=600,
        interim_interval_seconds=300,
    )


@pytest.fixture
def internet_subscriber(actor, catalog, make_customer):
    """``internet_subscriber(login, *, funds=10_000, password=PASSWORD, plan=catalog.internet_plan)``: a
    customer of make_customer with ``funds`` paid in (none when 0), an account on ``plan`` with that
    login and its internet password; the account. The product's internet service is the test's to set."""
    from tripleplay.customers.services import create_account
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money
    from tripleplay.radius import services

    def make(login: str, *, funds: int = 10_000, password: str = PASSWORD, plan=None):
        customer = make_customer()
        if funds:
            record_payment(actor, customer, Money(funds, "USD"), idempotency_key=f"seed-{login}")
        account = create_account(actor, customer, main_plan=plan or catalog.internet_plan, login=login)
        services.set_internet_password(actor, account, password)
        return account

    return make


@pytest.fixture
def calls():
    """The rlm_rest calls tripleplay's live server received (their paths below /aaa/v1/radius/), in order."""
    paths: list[str] = []

    def seen(sender, environ=None, **kwargs):
        if environ and environ.get("PATH_INFO", "").startswith("/aaa/v1/radius/"):
            paths.append(environ["PATH_INFO"].removeprefix("/aaa/v1/radius/"))

    request_started.connect(seen)
    yield paths
    request_started.disconnect(seen)


@dataclass
class Reply:
    code: str  # Access-Accept, Access-Reject, or "" when nothing answered
    attributes: dict[str, str]
    output: str


def radclient(server, kind: str, attributes: str, secret: str = MIKROTIK_SECRET) -> Reply:
    """Send one packet with Debian's radclient (from 127.0.0.1) and parse what came back."""
    port = server.settings.auth_port if kind == "auth" else server.settings.acct_port
    done = subprocess.run(["radclient", "-x", "-r", "1", "-t", "5", f"127.0.0.1:{port}", kind, secret],
                          input=attributes, capture_output=True, text=True, timeout=30)
    out = done.stdout + done.stderr
    match = re.search(r"Received (\S+) Id \d+ .*?\n((?:\t.*\n?)*)", out)
    if not match:
        return Reply("", {}, out)
    attrs = {}
    for line in match.group(2).splitlines():
        name, _, value = line.strip().partition(" = ")
        attrs[name] = value.strip('"')
    return Reply(match.group(1), attrs, out)


@pytest.fixture
def volume_plan(db, actor):
    """An internet product priced by volume, 0.01 per 100 KB in 100 KB blocks (bench/radius's tariff),
    and its plan, with the clock frozen at VOLUME_T0: the charging tests' world (the fast window's and
    D212's database function)."""
    from tripleplay.catalog.services import create_plan, create_product
    from tripleplay.radius import services
    from tripleplay.rating.services import create_rate_table, set_rate

    clock.freeze(VOLUME_T0)
    internet = create_product(actor, code="fiber", name="Fiber", kind="main", currency="USD", services=["data"])
    plan = create_plan(actor, internet, code="fiber-volume", name="Fiber by volume", periodic_fee_minor=0)
    rates = create_rate_table(actor, internet, service_type="data", name="Fiber volume")
    set_rate(actor, rates, prefix="", price_per_unit_micros=100_000, first_increment=100, next_increment=100)
    services.set_internet_service(actor, internet, download_kbps=100_000, upload_kbps=20_000)
    return plan


@pytest.fixture
def internet_volume_plan(actor, catalog):
    """catalog.internet priced by volume as volume_plan's product is (0.10 a MB in 100 KB blocks, 0.01 a
    block, no free data: every byte paid for) and its plan fiber-volume, without a fee; the clock left
    running."""
    from tripleplay.catalog.services import create_plan
    from tripleplay.rating.services import create_rate_table, set_rate

    rates = create_rate_table(actor, catalog.internet, service_type="data", name="Fiber volume")
    set_rate(actor, rates, prefix="", price_per_unit_micros=100_000, first_increment=100, next_increment=100)
    return create_plan(actor, catalog.internet, code="fiber-volume", name="Fiber by volume", periodic_fee_minor=0)


def volume_subscriber(actor, plan, n: int, funds_minor: int):
    """A prepaid customer number ``n`` with ``funds_minor`` paid in, an account on ``plan`` (login
    user<n>) and its own MikroTik NAS at 192.0.2.<n>: (customer, account, nas)."""
    from tripleplay.customers.services import create_account, create_customer
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money
    from tripleplay.radius import services

    customer = create_customer(actor, name=f"sub {n}", currency="USD", balance_model="prepaid")
    record_payment(actor, customer, Money(funds_minor, "USD"), idempotency_key=f"pay-{n}")
    account = create_account(actor, customer, main_plan=plan, login=f"user{n}")
    nas = services.create_nas(actor, name=f"bras-{n}", address=f"192.0.2.{n}", secret="secret-123", vendor="mikrotik")
    return customer, account, nas
