"""The SQL path of a plain PAP Access-Request (D270-D273): FreeRADIUS's rlm_sql asks tripleplay's
database functions (radius/sql/radius_sql_authorize.sql), pap checks the password's SSHA2-512 form,
and every case the functions do not answer goes to the rest path. What it must answer is what the rest
path answers: the functions are tested against radius.decision on a table of cases, and through real
FreeRADIUS each answer is compared attribute by attribute with the rest-only configuration's."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection

from tripleplay import clock
from tripleplay.customers.models import Account, AccountProduct, Customer, VacationHold
from tripleplay.ledger.models import Funds
from tripleplay.radius import decision, selectors, server, services
from tripleplay.radius.attributes import ServiceAttributes, reply_attributes
from tripleplay.radius.models import InternetLogin, ReplyAttribute
from tripleplay.radius.passwords import ssha512, ssha512_matches
from tripleplay.radius.tests.conftest import MIKROTIK_SECRET, needs_freeradius, radclient

# -- the password's one-way form and the materialised reply (both databases) ----------------------------------


def test_ssha512_is_what_rlm_pap_checks():
    salt = bytes(range(16))
    stored = ssha512("s3cret-pw", salt)
    # rlm_pap.c pap_auth_ssha2: SHA-512(password || salt) then the salt, here "0x" + hex for rlm_sql.
    assert stored == "0x" + (hashlib.sha512(b"s3cret-pw" + salt).digest() + salt).hex()
    assert len(stored) == 2 + 2 * (64 + 16)
    assert ssha512_matches("s3cret-pw", stored) and not ssha512_matches("s3cret-pW", stored)
    assert ssha512("s3cret-pw") != ssha512("s3cret-pw")  # a fresh salt each time


def _world(actor):
    from tripleplay.catalog.services import create_plan, create_product

    internet = create_product(actor, code="fiber", name="Fiber", kind="main", currency="USD", services=["data"])
    plan = create_plan(actor, internet, code="fiber-m", name="Fiber monthly", periodic_fee_minor=0)
    service = services.set_internet_service(actor, internet, download_kbps=50_000, upload_kbps=10_000,
                                            address_pool="pool-a", session_timeout_seconds=3600,
                                            idle_timeout_seconds=300)
    bare = create_product(actor, code="bare", name="No internet", kind="main", currency="USD", services=["data"])
    bare_plan = create_plan(actor, bare, code="bare-m", name="Bare monthly", periodic_fee_minor=0)
    return {"internet": internet, "service": service, "plan": plan, "bare_plan": bare_plan}


def _login(actor, world, login: str, *, funds: int = 500, plan=None, password: str = "password-1"):
    from tripleplay.customers.services import create_account, create_customer
    from tripleplay.ledger.services import record_payment
    from tripleplay.money import Money

    customer = create_customer(actor, name=f"c-{login}", currency="USD", balance_model="prepaid")
    if funds:
        record_payment(actor, customer, Money(funds, "USD"), idempotency_key=f"pay-{login}")
    account = create_account(actor, customer, main_plan=plan or world["plan"], login=login)
    services.set_internet_password(actor, account, password)
    return account


def _materialised(product_id: int, vendor: str) -> dict[str, str]:
    return dict(ReplyAttribute.objects.filter(product_id=product_id, vendor=vendor).order_by("position")
                .values_list("attribute", "value"))


@pytest.mark.django_db
def test_setting_the_password_writes_both_forms(actor):
    world = _world(actor)
    account = _login(actor, world, "pat", password="first-pw")
    login = InternetLogin.objects.get(account=account)
    assert ssha512_matches("first-pw", login.password_ssha512)
    services.set_internet_password(actor, account, "second-pw")
    login.refresh_from_db()
    assert ssha512_matches("second-pw", login.password_ssha512) and not ssha512_matches("first-pw",
                                                                                          login.password_ssha512)
    assert selectors.access_of("pat").password == "second-pw"


@pytest.mark.django_db
def test_the_reply_attributes_are_materialised_per_vendor_whenever_the_service_is_set(actor):
    world = _world(actor)
    product = world["internet"].pk
    expected = ServiceAttributes(50_000, 10_000, "pool-a", 3600, 300, 300)
    assert _materialised(product, "mikrotik") == reply_attributes("mikrotik", expected) == {
        "Session-Timeout": "3600", "Idle-Timeout": "300", "Acct-Interim-Interval": "300", "Framed-Pool": "pool-a",
        "Mikrotik-Rate-Limit": "10000k/50000k"}
    assert _materialised(product, "huawei") == reply_attributes("huawei", expected)
    assert list(_materialised(product, "huawei")) == list(reply_attributes("huawei", expected))  # the order too
    services.set_internet_service(actor, world["internet"], download_kbps=8_000, upload_kbps=1_000)
    assert _materialised(product, "mikrotik") == {"Acct-Interim-Interval": "300", "Mikrotik-Rate-Limit": "1000k/8000k"}
    assert _materialised(product, "huawei") == {"Acct-Interim-Interval": "300", "Huawei-Input-Average-Rate": "1000000",
                                                "Huawei-Output-Average-Rate": "8000000"}
    assert ReplyAttribute.objects.count() == 2 + 3


@pytest.mark.django_db
def test_the_migration_fills_existing_passwords_and_reply_attributes(actor):
    from importlib import import_module

    from django.apps import apps

    world = _world(actor)
    account = _login(actor, world, "old", password="older-pw")
    InternetLogin.objects.filter(account=account).update(password_ssha512="")
    ReplyAttribute.objects.all().delete()
    import_module("tripleplay.radius.migrations.0005_radauth_sql_path").fill(apps, None)
    assert ssha512_matches("older-pw", InternetLogin.objects.get(account=account).password_ssha512)
    assert _materialised(world["internet"].pk, "mikrotik")["Mikrotik-Rate-Limit"] == "10000k/50000k"
    assert ReplyAttribute.objects.count() == 5 + 7


def test_a_reply_rlm_sql_would_unquote_is_not_materialised():
    """The function answers the rows as they are (D291): a vendor's reply with a quoted value gets none,
    so its requests go to the rest path."""
    from types import SimpleNamespace

    assert [services.rlm_sql_unquotes(v) for v in ("'a'", '"b"', "`c`", "'", "a'", "'a", "", "pool")] == [
        True, True, True, True, False, False, False, False]
    service = SimpleNamespace(download_kbps=1000, upload_kbps=500, address_pool="'quoted'",
                              session_timeout_seconds=0, idle_timeout_seconds=0, interim_interval_seconds=0)
    assert services.reply_attribute_rows(service) == []  # every vendor answers Framed-Pool
    service.address_pool = "pool-a"
    rows = services.reply_attribute_rows(service)
    assert {v for v, *_ in rows} == set(server_vendors()) and all(not services.rlm_sql_unquotes(r[3]) for r in rows)


def server_vendors():
    from tripleplay.radius.attributes import BY_VENDOR

    return BY_VENDOR


def test_the_rendered_configuration_has_the_sql_path_only_when_asked(tmp_path):
    base = {"tripleplay_url": "http://127.0.0.1:8000", "token": "tok-123"}
    rest = server.render_config(tmp_path / "rest", server.Settings(**base))
    site = (rest / "sites" / "tripleplay").read_text()
    assert not (rest / "mods" / "tripleplay_sql").exists() and not (rest / "sites" / "tripleplay_logins").exists()
    assert "tripleplay_sql" not in site and "@SQL@" not in site and "@REST_ONLY@" not in site
    assert "if (&control:Auth-Type == Accept)" in site
    sql = server.render_config(tmp_path / "sql", server.Settings(
        **base, sql_host="127.0.0.1", sql_port=5432, sql_user="radius", sql_password="pw-1", sql_database="tp",
        time_zone="Europe/Berlin"))
    site = (sql / "sites" / "tripleplay").read_text()
    module = (sql / "mods" / "tripleplay_sql").read_text()
    assert 'radius_db = "tp"' in module and 'login = "radius"' in module and "'Europe/Berlin'" in module
    assert "\t\t\ttripleplay_sql {\n" in site and "\t\t\ttripleplay_logins.accounting {\n" in site  # authorize, post-auth
    # The logins are recorded by tripleplay.radius.logins from the file, not by a FreeRADIUS listener (D290).
    assert not (sql / "sites" / "tripleplay_logins").exists() and "Event-Timestamp" not in site
    assert "detail tripleplay_logins {" in module and "User-Password" in module.split("suppress")[1]
    assert "locking = yes" in module
    assert "@SQL@" not in site and "A PAP login tripleplay checked" not in site
    with pytest.raises(ValueError, match="SQL password"):
        server.render_config(tmp_path / "bad", server.Settings(**base, sql_host="h", sql_user="u",
                                                               sql_password="a'b", sql_database="d"))
    server.render_config(sql, server.Settings(**base))  # rendered again without it: the module is gone
    assert not (sql / "mods" / "tripleplay_sql").exists() and not (sql / "sites" / "tripleplay_logins").exists()


# -- the functions against radius.decision (PostgreSQL) -------------------------------------------------------


def _check(username: str, nas: str = "192.0.2.77") -> list[tuple]:
    """radius_sql_authorize_pap's rows as (attribute, value, op)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT attribute, value, op FROM radius_sql_authorize_pap(%s, %s, %s)", [username, nas, "UTC"])
        return cursor.fetchall()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_function_answers_exactly_the_logins_python_accepts(actor):
    """A table of cases: the function answers (the reply attributes and pap's hash) exactly when
    radius.decision.refusal accepts what radius.selectors reads, and 0 rows otherwise."""
    world = _world(actor)
    services.create_nas(actor, name="lookup-nas", address="192.0.2.77", secret="secret-123", vendor="huawei")
    today = clock.today()
    cases = {"ok": _login(actor, world, "ok")}
    cases["nobody"] = None
    _login(actor, world, "no-funds", funds=0)
    _login(actor, world, "no-service", plan=world["bare_plan"])
    for status in ("suspended", "blocked", "closed"):
        a = _login(actor, world, f"account-{status}")
        Account.objects.filter(pk=a.pk).update(status=status)
        c = _login(actor, world, f"customer-{status}")
        Customer.objects.filter(pk=c.customer_id).update(status=status)
    a = _login(actor, world, "on-hold")
    VacationHold.objects.create(customer_id=a.customer_id, account=a, start_date=today,
                                end_date=today + timedelta(days=7), status="active", created_at=clock.now())
    a = _login(actor, world, "hold-later")
    VacationHold.objects.create(customer_id=a.customer_id, account=a, start_date=today + timedelta(days=3),
                                end_date=today + timedelta(days=7), status="scheduled", created_at=clock.now())
    a = _login(actor, world, "ended")
    AccountProduct.objects.filter(account=a).update(end_date=today)
    a = _login(actor, world, "not-started")
    AccountProduct.objects.filter(account=a).update(start_date=today + timedelta(days=1))
    a = _login(actor, world, "credit")  # postpaid credit left counts as funds, holds do not
    Funds.objects.filter(customer_id=a.customer_id).update(balance_minor=-100, credit_limit_minor=150, held_minor=0)
    a = _login(actor, world, "all-held")
    Funds.objects.filter(customer_id=a.customer_id).update(held_minor=500)
    logins = ["ok", "nobody", "no-funds", "no-service", "on-hold", "hold-later", "ended", "not-started", "credit",
              "all-held", *(f"{who}-{s}" for who in ("account", "customer") for s in ("suspended", "blocked", "closed"))]
    outcomes = {}
    for login in logins:
        access = selectors.access_of(login)
        python = decision.refusal(access.found if access else None)
        rows = _check(login)
        assert bool(rows) == (python is None), (login, python, rows)
        outcomes[login] = python
    assert outcomes == {"ok": None, "nobody": "unknown_user", "no-funds": "no_funds",
                        "no-service": "no_internet_service", "on-hold": "on_hold", "hold-later": None,
                        "ended": "no_internet_service", "not-started": "no_internet_service", "credit": None,
                        "all-held": "no_funds",
                        **{f"{who}-{s}": s for who in ("account", "customer") for s in ("suspended", "blocked")},
                        "account-closed": "closed", "customer-closed": "closed"}
    ok = InternetLogin.objects.get(account__login="ok")
    expected = reply_attributes("huawei", ServiceAttributes(50_000, 10_000, "pool-a", 3600, 300, 300))
    assert _check("ok") == [*((name, value, ":=") for name, value in expected.items()),
                            ("SSHA2-512-Password", ok.password_ssha512, ":=")]
    assert _check("ok", nas="192.0.2.78") == []  # no NAS there: the rest path answers (400)
    # Not the function's to answer: a name rlm_sql escaped ("=XX"), a password without its one-way form,
    # a reply value rlm_sql would unquote.
    assert _check("ok=20") == []
    InternetLogin.objects.filter(pk=ok.pk).update(password_ssha512="")
    assert _check("ok") == []
    InternetLogin.objects.filter(pk=ok.pk).update(password_ssha512=ssha512("password-1"))
    services.set_internet_service(actor, world["internet"], download_kbps=50_000, upload_kbps=10_000,
                                  address_pool="'quoted'")
    assert _check("ok") == []
    services.set_internet_service(actor, world["internet"], download_kbps=50_000, upload_kbps=10_000,
                                  address_pool="pool-b")
    assert dict((a, v) for a, v, _ in _check("ok"))["Huawei-Framed-Pool"] == "pool-b"


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_post_auth_function_records_the_login_like_python(actor):
    """What the logins reader replays (D273): the UPDATE of record_login_of at the time the login was
    accepted, never over a later one."""
    from datetime import UTC, datetime

    world = _world(actor)
    nas = services.create_nas(actor, name="bras", address="192.0.2.9", secret="secret-123", vendor="mikrotik")
    account = _login(actor, world, "rec")
    at = int(datetime(2026, 12, 5, 22, 0, tzinfo=UTC).timestamp())
    with connection.cursor() as cursor:
        cursor.execute("SELECT radius_sql_post_auth(%s, %s, %s), radius_sql_post_auth(%s, %s, %s),"
                       " radius_sql_post_auth(%s, %s, %s)",
                       ["rec", "192.0.2.9", at, "nobody", "192.0.2.9", at, "rec=20", "192.0.2.9", at])
        assert cursor.fetchone() == (1, 0, 0)
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone() == ("off",)  # this transaction's commit does not wait for the WAL (D211)
        cursor.execute("SELECT radius_sql_post_auth(%s, %s, %s)", ["rec", "192.0.2.9", at - 60])
        assert cursor.fetchone() == (0,)  # an older record replayed late changes nothing
    login = InternetLogin.objects.get(account=account)
    assert (login.last_nas_id, login.last_auth_at) == (nas.pk, datetime(2026, 12, 5, 22, 0, tzinfo=UTC))


# -- through real FreeRADIUS: the SQL path against the rest path (PostgreSQL) -------------------------------


@pytest.fixture
def e2e(actor, catalog, internet_service, internet_subscriber, aaa_token):
    nas = services.create_nas(actor, name="nas-1", address="127.0.0.1", secret=MIKROTIK_SECRET, vendor="mikrotik")
    return {"nas": nas, "subscriber": internet_subscriber, "catalog": catalog}


def wait_for_login(login: str, seconds: float = 10) -> int | None:
    """The NAS id of the login's recorded authentication, once the logins reader replayed it."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = InternetLogin.objects.filter(account__login=login, last_auth_at__isnull=False).values_list(
            "last_nas_id", flat=True).first()
        if row is not None:
            return row
        time.sleep(0.1)
    return None


def wait_for_replays(server, seconds: float = 10) -> None:
    """Until the logins reader has replayed every login in its file (D273): no detail* file left."""
    import time

    deadline = time.monotonic() + seconds
    while any((server.conf_dir / "run" / "logins").glob("detail*")):
        assert time.monotonic() < deadline, "the logins reader did not replay its file"
        time.sleep(0.1)


def _both(radius_server, rest_radius_server, calls, packet: str):
    """The packet sent to the SQL-path FreeRADIUS and to the rest-only one: the same answer, attribute
    by attribute; returned with the calls each made into tripleplay (the NAS lookup left out)."""
    calls.clear()
    sql = radclient(radius_server, "auth", packet)
    sql_calls = [c for c in calls if not c.startswith("clients/")]
    calls.clear()
    rest = radclient(rest_radius_server, "auth", packet)
    assert sql.code and (sql.code, sql.attributes) == (rest.code, rest.attributes), (sql.output, rest.output)
    return sql, sql_calls, [c for c in calls if not c.startswith("clients/")]


@needs_freeradius
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("vendor, expected", [
    ("mikrotik", {"Mikrotik-Rate-Limit": "20000k/100000k", "Session-Timeout": "86400", "Idle-Timeout": "600",
                  "Acct-Interim-Interval": "300", "Framed-Pool": "pool-fiber"}),
    ("huawei", {"Huawei-Input-Average-Rate": "20000000", "Huawei-Output-Average-Rate": "100000000",
                "Huawei-Framed-Pool": "pool-fiber", "Framed-Pool": "pool-fiber", "Session-Timeout": "86400",
                "Idle-Timeout": "600", "Acct-Interim-Interval": "300"}),
])
def test_an_accept_on_the_sql_path_is_the_rest_paths_attribute_by_attribute(
        radius_server, rest_radius_server, e2e, calls, actor, vendor, expected):
    assert radius_server.settings.sql_host and rest_radius_server.settings.sql_host is None
    services.update_nas(actor, e2e["nas"], vendor=vendor)
    e2e["subscriber"]("sam")
    reply, sql_calls, rest_calls = _both(radius_server, rest_radius_server, calls,
                                         'User-Name = "sam", User-Password = "s3cret-pw"')
    assert (reply.code, reply.attributes) == ("Access-Accept", expected)
    assert (sql_calls, rest_calls) == ([], ["authorize"])  # no Python on the SQL path
    # The rest path recorded the login at once; the SQL path's record is replayed from FreeRADIUS's
    # file within the reader's poll interval (D273): both are there, the later one last.
    login = InternetLogin.objects.get(account__login="sam")
    assert (login.last_nas_id, login.last_auth_at is not None) == (e2e["nas"].pk, True)
    wait_for_replays(radius_server)
    InternetLogin.objects.filter(account__login="sam").update(last_auth_at=None, last_nas=None)
    before = clock.now().replace(microsecond=0)
    radclient(radius_server, "auth", 'User-Name = "sam", User-Password = "s3cret-pw"')
    assert wait_for_login("sam") == e2e["nas"].pk
    recorded = InternetLogin.objects.get(account__login="sam").last_auth_at
    assert before <= recorded <= clock.now()  # the time FreeRADIUS accepted it (whole seconds)



@needs_freeradius
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_login_the_file_cannot_take_is_still_accepted_and_recorded_by_post_auth(radius_server, e2e, calls):
    """The accepted login's entry cannot be written (D290): a failing post-auth module would turn the
    Accept into a Reject, so the site records the login through tripleplay's post-auth instead."""
    e2e["subscriber"]("fay")
    wait_for_replays(radius_server)
    logins_dir = radius_server.conf_dir / "run" / "logins"
    for left in logins_dir.glob("*"):
        left.unlink()
    logins_dir.rmdir()
    logins_dir.write_text("")  # not a directory: rlm_detail can neither open nor make the file
    try:
        calls.clear()
        reply = radclient(radius_server, "auth", 'User-Name = "fay", User-Password = "s3cret-pw"')
        assert reply.code == "Access-Accept", reply.output
        assert [c for c in calls if not c.startswith("clients/")] == ["post-auth"]
        assert InternetLogin.objects.get(account__login="fay").last_nas_id == e2e["nas"].pk  # recorded at once
    finally:
        logins_dir.unlink()
        logins_dir.mkdir(mode=0o700)


@needs_freeradius
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case, code", [
    ("unknown", "unknown_user"), ("wrong_password", "wrong_password"), ("suspended", "suspended"),
    ("blocked", "blocked"), ("closed", "closed"), ("on_hold", "on_hold"), ("no_funds", "no_funds"),
    ("no_service", "no_internet_service"), ("disabled_nas", "wrong_password"),
])
def test_each_refusal_on_the_sql_path_is_the_rest_paths_attribute_by_attribute(
        radius_server, rest_radius_server, e2e, calls, actor, case, code):
    from tripleplay.customers.services import change_customer_status

    account = e2e["subscriber"]("rita", funds=0 if case == "no_funds" else 10_000,
                                plan=e2e["catalog"].tv_plan if case == "no_service" else None)
    if case in ("suspended", "blocked", "closed"):
        change_customer_status(actor, account.customer, case, reason="test")
    if case == "on_hold":
        today = clock.today()
        VacationHold.objects.create(customer_id=account.customer_id, account=account, start_date=today,
                                    end_date=today + timedelta(days=7), status="active", created_at=clock.now())
    if case == "disabled_nas":
        # Disabled after FreeRADIUS cached the client: authorize answers 400 (rlm_rest's invalid), the
        # site rejects and, with no Reply-Message, post-auth/reject names the refusal as a password's
        # (today's answer of the rest path, kept: the SQL path answers the same).
        # (A wrong password caches the client on both without recording a login, which the SQL
        # path's reader would replay later.)
        for server_ in (radius_server, rest_radius_server):
            assert radclient(server_, "auth", 'User-Name = "rita", User-Password = "not-it"').code == "Access-Reject"
        services.update_nas(actor, e2e["nas"], enabled=False)
    user = "nobody" if case == "unknown" else "rita"
    password = "not-it" if case == "wrong_password" else "s3cret-pw"
    reply, sql_calls, rest_calls = _both(radius_server, rest_radius_server, calls,
                                         f'User-Name = "{user}", User-Password = "{password}"')
    assert reply.code == "Access-Reject"
    assert reply.attributes == {"Reply-Message": decision.reply_message(code)}
    # Python decided each refusal on both paths; on the SQL path pap refused the wrong password.
    assert rest_calls == (["authorize", "post-auth/reject"] if case == "disabled_nas" else ["authorize"])
    assert sql_calls == (["post-auth/reject"] if case == "wrong_password" else rest_calls)
    assert InternetLogin.objects.get(account=account).last_auth_at is None



@needs_freeradius
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_password_change_takes_effect_at_once_and_chap_stays_on_the_rest_path(
        radius_server, rest_radius_server, e2e, calls, actor):
    account = e2e["subscriber"]("tom")
    assert radclient(radius_server, "auth", 'User-Name = "tom", User-Password = "s3cret-pw"').code == "Access-Accept"
    services.set_internet_password(actor, account, "n3w-secret")
    for password, code in (("s3cret-pw", "Access-Reject"), ("n3w-secret", "Access-Accept")):
        reply, _, _ = _both(radius_server, rest_radius_server, calls,
                            f'User-Name = "tom", User-Password = "{password}"')
        assert reply.code == code
    reply, sql_calls, rest_calls = _both(radius_server, rest_radius_server, calls,
                                         'User-Name = "tom", CHAP-Password = "n3w-secret"')
    assert reply.code == "Access-Accept" and reply.attributes["Mikrotik-Rate-Limit"] == "20000k/100000k"
    assert sql_calls == rest_calls == ["authorize", "post-auth"]

