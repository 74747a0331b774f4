"""The SQL path's own PostgreSQL role (D300, D301): FreeRADIUS's rlm_sql and the logins reader may call the
SQL path's three functions (SECURITY DEFINER, search_path pinned) and nothing else of the database. The
role is made as `tripleplay radius-sql-role` makes it, inside the test's transaction (rolled back with it),
and its rights are exercised with SET ROLE on the test's own connection. End to end, the FreeRADIUS of
radius_server logs in as such a role (conftest.sql_role), so test_freeradius, test_sql_path and
test_sql_interim_path run through it."""

from __future__ import annotations

import re
import secrets
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import psycopg.errors
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from tripleplay.customers.models import Account, Customer
from tripleplay.ledger.models import Funds, Hold, LedgerEntry
from tripleplay.radius import checks, logins, server, services, sqlrole
from tripleplay.radius.models import InternetLogin, NasClient, ReplyAttribute
from tripleplay.radius.tests.test_sql_path import _login, _world
from tripleplay.sessions.models import ChargingSession, ChargingWindow

MODULE = Path(server.TEMPLATE) / "mods" / "tripleplay_sql"


def test_the_role_is_granted_exactly_the_functions_the_sql_path_calls():
    """What mods/tripleplay_sql's queries and the logins reader call, read from their text."""
    called = set(re.findall(r"\b(radius_\w+|ledger_\w+|sessions_\w+)\(", MODULE.read_text()))
    called |= set(re.findall(r"\b(radius_\w+)\(", Path(logins.__file__).read_text()))
    assert called == set(sqlrole.FUNCTIONS) == {"radius_sql_authorize_pap", "radius_sql_interim",
                                                 "radius_sql_post_auth_batch"}


@pytest.mark.parametrize(("engine", "enabled", "url", "warned"), [
    ("django.db.backends.postgresql", True, "", True),
    ("django.db.backends.postgresql", True, "postgres://owner:pw@db:5432/billing", True),
    ("django.db.backends.postgresql", True, "postgres://tripleplay_radius:pw@db:5432/billing", False),
    ("django.db.backends.postgresql", False, "", False),
    ("django.db.backends.sqlite3", True, "", False),
])
def test_check_deploy_warns_while_the_sql_path_logs_in_as_the_owner(engine, enabled, url, warned):
    database = {"ENGINE": engine, "NAME": "billing", "USER": "owner"}
    assert [w.id for w in checks.sql_login_warnings(database, enabled, url)] == (["radius.W001"] if warned else [])


# -- PostgreSQL ---------------------------------------------------------------------------------------------------


@pytest.fixture
def role(db):
    """A role as the command makes it, created in the test's transaction (rolled back with it)."""
    name = f"tp_radius_test_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        sqlrole.ensure_role(cursor, name, secrets.token_hex(8))
    return name


@contextmanager
def acting_as(role: str):
    """This connection with the role's rights (SET LOCAL ROLE), in a savepoint undone after."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f'SET LOCAL ROLE "{role}"')
            yield cursor
            raise _Undo
    except _Undo:
        pass


class _Undo(Exception):
    pass


def refused(role: str, sql: str, params=None) -> bool:
    """Whether the statement fails as the role for want of a privilege (42501)."""
    try:
        with acting_as(role) as cursor:
            cursor.execute(sql, params)
    except Exception as e:  # noqa: BLE001 - Django wraps psycopg's error
        return isinstance(e.__cause__ or e, psycopg.errors.InsufficientPrivilege)
    return False


@pytest.mark.postgres
def test_the_role_calls_the_functions_and_gets_the_owners_answers(actor, role):
    world = _world(actor)
    nas = services.create_nas(actor, name="bras", address="192.0.2.77", secret="secret-123", vendor="mikrotik")
    account = _login(actor, world, "alice")
    _login(actor, world, "broke", funds=0)
    authorize = "SELECT attribute, value, op FROM radius_sql_authorize_pap(%s, %s, 'UTC')"
    with connection.cursor() as cursor:
        cursor.execute(authorize, ["alice", nas.address])
        owners = cursor.fetchall()
    assert owners[-1] == ("SSHA2-512-Password", InternetLogin.objects.get(account=account).password_ssha512, ":=")
    with acting_as(role) as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (role,)
        cursor.execute(authorize, ["alice", nas.address])
        assert cursor.fetchall() == owners
        cursor.execute(authorize, ["broke", nas.address])
        assert cursor.fetchall() == []
        cursor.execute("SELECT radius_sql_post_auth_batch(%s::text[], %s::text[], %s::bigint[])",
                       [["alice", "nobody"], [nas.address, nas.address], [1796523459, 1796523459]])
        assert cursor.fetchone() == (1,)
        # Not a window's (no such session): 0, the rest path's request. The role read the window table
        # through the function, which it cannot read itself (below).
        cursor.execute("SELECT radius_sql_interim(%s, 's-1', 100, 0, 100, 0, 60, NULL, 0, NULL)", [nas.address])
        assert cursor.fetchone() == (0,)
        cursor.execute("RESET ROLE")  # the batch's write, read as the owner before the savepoint goes
        cursor.execute("SELECT last_nas_id, extract(epoch FROM last_auth_at)::bigint FROM radius_internetlogin"
                       " WHERE account_id = %s", [account.pk])
        assert cursor.fetchone() == (nas.pk, 1796523459)


@pytest.mark.postgres
def test_the_role_can_do_nothing_else(actor, role):
    world = _world(actor)
    _login(actor, world, "alice")
    for model in (LedgerEntry, Funds, Hold, Customer, Account, InternetLogin, NasClient, ReplyAttribute,
                  ChargingSession, ChargingWindow):
        table = model._meta.db_table
        assert refused(role, f"SELECT * FROM {table} LIMIT 1"), table
        assert refused(role, f"INSERT INTO {table} DEFAULT VALUES"), table
        pk = model._meta.pk.column
        assert refused(role, f"UPDATE {table} SET {pk} = {pk}"), table
        assert refused(role, f"DELETE FROM {table}"), table
    assert refused(role, "CREATE TEMP TABLE t (x int)")
    assert refused(role, "CREATE TABLE public.t (x int)")
    assert refused(role, "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    assert refused(role, "CREATE SCHEMA s")
    # Every other function of tripleplay's, the ledger's first.
    with connection.cursor() as cursor:
        cursor.execute("SELECT p.proname, ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t)"
                       " FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY(%s)",
                       [sqlrole.tripleplay_functions()])
        others = {name: types for name, types in cursor.fetchall() if name not in sqlrole.FUNCTIONS}
    assert {"ledger_place_hold", "ledger_capture_hold", "ledger_available_funds", "sessions_update_charge",
            "radius_sql_post_auth", "radius_interim_update", "ppv_authorize_approve"} <= set(others)
    for name, types in others.items():
        # Arguments from a row the planner cannot fold (a strict function of constant NULLs is never called).
        row = ", ".join(f"NULL::{t} AS a{i}" for i, t in enumerate(types)) or "1 AS a"
        args = ", ".join(f"x.a{i}" for i in range(len(types)))
        assert refused(role, f"SELECT {name}({args}) FROM (SELECT {row} OFFSET 0) x"), name
    with connection.cursor() as cursor:
        assert sqlrole.verify(cursor, role) == []


@pytest.mark.postgres
def test_a_temp_table_and_search_path_hijack_do_not_change_what_the_function_reads(actor, role):
    """The session shadows the tables the function reads with temporary ones (what a role with TEMP
    could do; this one has none, so the session's superuser makes them) and puts pg_temp first on its
    search_path: an ordinary query now reads the impostors, the function (search_path pinned to
    pg_catalog, public, pg_temp) still reads tripleplay's tables."""
    world = _world(actor)
    nas = services.create_nas(actor, name="bras", address="192.0.2.77", secret="secret-123", vendor="mikrotik")
    _login(actor, world, "alice")
    authorize = "SELECT attribute, value FROM radius_sql_authorize_pap('alice', %s, 'UTC')"
    with connection.cursor() as cursor:
        cursor.execute(authorize, [nas.address])
        before = cursor.fetchall()
        assert before
        cursor.execute("CREATE TEMP TABLE radius_replyattribute (product_id bigint, vendor text, position int,"
                       " attribute text, value text) ON COMMIT DROP")
        cursor.execute("INSERT INTO pg_temp.radius_replyattribute SELECT product_id, vendor, position,"
                       " 'Framed-Pool', 'hijacked' FROM public.radius_replyattribute")
        cursor.execute("CREATE TEMP TABLE customers_account (LIKE public.customers_account) ON COMMIT DROP")
        cursor.execute("SET LOCAL search_path = pg_temp, public")
        cursor.execute("SELECT count(*) FROM radius_replyattribute WHERE value = 'hijacked'")
        assert cursor.fetchone()[0] > 0  # the shadow is what an unqualified name reads now
        cursor.execute(authorize, [nas.address])
        assert cursor.fetchall() == before
    with acting_as(role) as cursor:
        cursor.execute("SET LOCAL search_path = pg_temp, public")
        cursor.execute(authorize, [nas.address])
        assert cursor.fetchall() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT p.proname, p.prosecdef, p.proconfig FROM pg_proc p WHERE p.proname = ANY(%s)",
                       [list(sqlrole.FUNCTIONS)])
        assert {row[0]: row[1:] for row in cursor.fetchall()} == {
            name: (True, ["search_path=pg_catalog, public, pg_temp"]) for name in sqlrole.FUNCTIONS}


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_command_is_idempotent_and_takes_away_what_the_role_must_not_have(tmp_path):
    name = f"tp_radius_test_{secrets.token_hex(4)}"
    password = tmp_path / "password"
    password.write_text("first-pw-1\n")

    def run(*args: str) -> str:
        out = StringIO()
        call_command("radius-sql-role", "--name", name, *args, stdout=out)
        return out.getvalue()

    first = run("--password-file", str(password))
    assert f"role {name}: created" in first and "password set (SCRAM-SHA-256)" in first
    assert "EXECUTE on radius_sql_authorize_pap(text,text,text): granted" in first
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [name])
        assert cursor.fetchone()[0].startswith("SCRAM-SHA-256$")
    again = run()
    assert again.splitlines()[:2] == [f"role {name}: exists ({sqlrole.ATTRIBUTES})",
                                      f"role {name}: grants as they should be"]
    assert run("--check") == f"role {name}: as it should be\n"
    # Someone gave it more: the command takes it back, and says so.
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER ROLE "{name}" CREATEDB INHERIT')
        cursor.execute(f'GRANT SELECT ON ledger_funds TO "{name}"')
        cursor.execute(f'GRANT EXECUTE ON FUNCTION ledger_available_funds(bigint) TO "{name}"')
        cursor.execute(f'GRANT TEMP ON DATABASE "{connection.settings_dict["NAME"]}" TO "{name}"')
        cursor.execute(f'GRANT pg_read_all_data TO "{name}"')
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("radius-sql-role", "--name", name, "--check", stdout=out)
    assert "has CREATEDB" in out.getvalue() and "may call ledger_available_funds(bigint)" in out.getvalue()
    fixed = run()
    for line in (f"role {name}: attributes set", "membership of pg_read_all_data: revoked",
                 "privileges on ledger_funds: revoked", "EXECUTE on ledger_available_funds(bigint): revoked",
                 "TEMPORARY on database"):
        assert line in fixed, fixed
    assert f"role {name}: grants as they should be" in run()


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_migration_grants_to_the_configured_role_if_it_exists(role, settings):
    settings.TRIPLEPLAY_RADIUS_SQL_URL = f"postgres://{role}:pw@127.0.0.1:5432/x"
    with connection.cursor() as cursor:
        for signature in sqlrole.FUNCTIONS.values():
            cursor.execute(f'REVOKE EXECUTE ON FUNCTION {signature} FROM "{role}"')
        assert len(sqlrole.verify(cursor, role)) == 3
    with connection.schema_editor(atomic=False) as editor:
        sqlrole.grant_if_exists(editor)
    with connection.cursor() as cursor:
        assert sqlrole.verify(cursor, role) == []
    settings.TRIPLEPLAY_RADIUS_SQL_URL = "postgres://tp_radius_nobody_here:pw@127.0.0.1:5432/x"
    with connection.schema_editor(atomic=False) as editor:
        sqlrole.grant_if_exists(editor)  # no such role: nothing, no error


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_rendered_configuration_logs_in_as_the_configured_role(settings, monkeypatch):
    monkeypatch.setattr(server, "sql_driver_installed", lambda: True)
    owner = server.sql_settings_from_database()
    assert server.owner_login(owner)
    settings.TRIPLEPLAY_RADIUS_SQL_URL = "postgres://tripleplay_radius:pw-1@db.example:6432/billing"
    sql = server.sql_settings_from_database()
    assert (sql["sql_user"], sql["sql_password"], sql["sql_host"], sql["sql_port"], sql["sql_database"]) == (
        "tripleplay_radius", "pw-1", "db.example", 6432, "billing")
    assert not server.owner_login(sql)
    assert server.logins_environment(server.Settings(tripleplay_url="http://x", token="t", **sql))["PGUSER"] == (
        "tripleplay_radius")
