"""The SQL path's own PostgreSQL login (D300, D301): FreeRADIUS's rlm_sql instance ``tripleplay_sql`` and the
logins reader (``radius.logins``) call three database functions and nothing else, so they log in as a role
that may call exactly those three: SECURITY DEFINER functions owned by tripleplay's login (radius/sql/*.sql),
EXECUTE granted to this role alone (revoked from PUBLIC by ``core.sqlfiles.install``). The role has no
table, sequence or schema privilege, no CREATE, no TEMP, no role membership and no role attribute but LOGIN.

``ensure_role`` creates or updates it (``tripleplay radius-sql-role``; needs CREATEROLE, which the migrating
login may not have), ``grant`` gives it what it needs and takes away anything else, ``verify`` lists what is
wrong (nothing: the role is as it should be), ``grant_if_exists`` is what a migration that (re)creates one of
the functions calls: the grant to TRIPLEPLAY_RADIUS_SQL_URL's role, when that role exists."""

from __future__ import annotations

import re

from tripleplay.core.sqlfiles import function_names, sql_files

# Each function the SQL path calls, with its signature as PostgreSQL prints a regprocedure, and who calls it.
FUNCTIONS = {
    # mods/tripleplay_sql's authorize_reply_query (a plain PAP Access-Request, D270-D273, D291)
    "radius_sql_authorize_pap": "radius_sql_authorize_pap(text,text,text)",
    # mods/tripleplay_sql's Interim-Update accounting query (D280-D282, D295, D296)
    "radius_sql_interim": "radius_sql_interim(text,text,bigint,bigint,bigint,bigint,bigint,inet,bigint,"
    "timestamp with time zone)",
    # radius.logins' batches of accepted logins (D290)
    "radius_sql_post_auth_batch": "radius_sql_post_auth_batch(text[],text[],bigint[])",
}
ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
SQL_APPS = ("ledger", "ppv", "sessions", "radius")  # the apps with database functions (<app>/sql/*.sql)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(Exception):
    pass


def configured_role() -> str | None:
    """The login of TRIPLEPLAY_RADIUS_SQL_URL (None: unset, the SQL path logs in as tripleplay itself)."""
    from django.conf import settings

    url = settings.TRIPLEPLAY_RADIUS_SQL_URL
    if not url:
        return None
    import dj_database_url

    return dj_database_url.parse(url).get("USER") or None


def tripleplay_functions() -> list[str]:
    """The names of every database function of tripleplay's (each app's sql/*.sql)."""
    return sorted({name for app in SQL_APPS for path in sql_files(app) for name in function_names(path)})


def _check_name(cursor, name: str) -> None:
    if not _NAME.match(name or ""):
        raise RoleError(f"role name {name!r}: lower-case letters, digits and _ only, at most 63, not a digit first")
    if name.startswith("pg_"):
        raise RoleError("role names starting with pg_ are PostgreSQL's")
    cursor.execute("SELECT current_user")
    if cursor.fetchone()[0] == name:
        raise RoleError(f"{name} is tripleplay's own login (the functions' owner): the SQL path needs a role of its own")


def ensure_role(cursor, name: str, password: str | None = None) -> list[str]:
    """Create the role, or set its attributes again; set its password if given (sent as a SCRAM verifier
    computed here, never in clear); then ``grant``. Returns what it did, one line each."""
    _check_name(cursor, name)
    done = []
    cursor.execute("SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolinherit OR rolreplication OR rolbypassrls"
                   " OR NOT rolcanlogin FROM pg_roles WHERE rolname = %s", [name])
    row = cursor.fetchone()
    if row is None:
        cursor.execute(f'CREATE ROLE "{name}" {ATTRIBUTES}')
        done.append(f"role {name}: created ({ATTRIBUTES})")
    elif row[0]:
        cursor.execute(f'ALTER ROLE "{name}" {ATTRIBUTES}')
        done.append(f"role {name}: attributes set ({ATTRIBUTES})")
    else:
        done.append(f"role {name}: exists ({ATTRIBUTES})")
    if password is not None:
        if not password:
            raise RoleError("the password is empty")
        verifier = cursor.connection.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256").decode()
        cursor.execute(f'ALTER ROLE "{name}" PASSWORD %s', [verifier])
        done.append(f"role {name}: password set (SCRAM-SHA-256)")
    return done + grant(cursor, name)


def grant(cursor, name: str) -> list[str]:
    """What the role needs (CONNECT on this database, USAGE on schema public, EXECUTE on FUNCTIONS) and
    nothing else: any other privilege granted to it in this database revoked, its role memberships
    revoked, and PUBLIC's TEMP on the database (and CREATE on schema public, where an old database still
    grants it) revoked and granted to tripleplay's login instead. Returns what it did; raises RoleError if
    the role or a function is missing, or ``verify`` still finds something."""
    _check_name(cursor, name)
    done = []
    cursor.execute("SELECT current_database(), current_user, oid FROM pg_roles WHERE rolname = %s", [name])
    row = cursor.fetchone()
    if row is None:
        raise RoleError(f"no role {name}: create it with `tripleplay radius-sql-role --name {name}`")
    database, owner, oid = row
    cursor.execute("SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = %s"
                   " ORDER BY 1", [oid])
    for (group,) in cursor.fetchall():
        cursor.execute(f'REVOKE "{group}" FROM "{name}"')
        done.append(f"membership of {group}: revoked")
    # Explicit grants to the role: on this database, schemas, relations, other functions.
    cursor.execute("SELECT a.privilege_type FROM pg_database d, aclexplode(d.datacl) a"
                   " WHERE d.datname = current_database() AND a.grantee = %s", [oid])
    database_privileges = {p for (p,) in cursor.fetchall()}
    for privilege in sorted(database_privileges - {"CONNECT"}):
        cursor.execute(f'REVOKE {privilege} ON DATABASE "{database}" FROM "{name}"')
        done.append(f"{privilege} on database {database}: revoked")
    if "CONNECT" not in database_privileges:
        cursor.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{name}"')
        done.append(f"CONNECT on database {database}: granted")
    cursor.execute("SELECT n.nspname, a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a"
                   " WHERE a.grantee = %s ORDER BY 1, 2", [oid])
    schema_privileges = cursor.fetchall()
    for schema, privilege in schema_privileges:
        if (schema, privilege) != ("public", "USAGE"):
            cursor.execute(f'REVOKE {privilege} ON SCHEMA "{schema}" FROM "{name}"')
            done.append(f"{privilege} on schema {schema}: revoked")
    if ("public", "USAGE") not in schema_privileges:
        cursor.execute(f'GRANT USAGE ON SCHEMA public TO "{name}"')
        done.append("USAGE on schema public: granted")
    cursor.execute("SELECT DISTINCT c.oid::regclass::text FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = %s"
                   " ORDER BY 1", [oid])
    for (relation,) in cursor.fetchall():
        cursor.execute(f'REVOKE ALL ON {relation} FROM "{name}"')
        done.append(f"privileges on {relation}: revoked")
    cursor.execute("SELECT DISTINCT p.oid::regprocedure::text FROM pg_proc p, aclexplode(p.proacl) a"
                   " WHERE a.grantee = %s ORDER BY 1", [oid])
    granted = {signature for (signature,) in cursor.fetchall()}
    for signature in sorted(granted - set(FUNCTIONS.values())):
        cursor.execute(f'REVOKE ALL ON FUNCTION {signature} FROM "{name}"')
        done.append(f"EXECUTE on {signature}: revoked")
    for signature in FUNCTIONS.values():
        cursor.execute("SELECT to_regprocedure(%s)", [signature])
        if cursor.fetchone()[0] is None:
            raise RoleError(f"no function {signature}: run `tripleplay migrate` first")
        if signature not in granted:
            cursor.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{name}"')
            done.append(f"EXECUTE on {signature}: granted")
    # What the role would still have through PUBLIC: TEMP on the database (every database grants it to
    # PUBLIC), CREATE on schema public (PostgreSQL before 15). Kept for tripleplay's login, taken from PUBLIC.
    on_database = f'DATABASE "{database}"'
    for privilege, on, has in (("TEMPORARY", on_database, "has_database_privilege(%s, current_database(), 'TEMP')"),
                               ("CREATE", on_database, "has_database_privilege(%s, current_database(), 'CREATE')"),
                               ("CREATE", "SCHEMA public", "has_schema_privilege(%s, 'public', 'CREATE')")):
        cursor.execute(f"SELECT {has}", [name])
        if cursor.fetchone()[0]:
            cursor.execute(f'GRANT {privilege} ON {on} TO "{owner}"')
            cursor.execute(f"REVOKE {privilege} ON {on} FROM PUBLIC")
            where = on.replace('"', "").lower()
            done.append(f"{privilege} on {where}: revoked from PUBLIC, granted to {owner}")
    problems = verify(cursor, name)
    if problems:
        raise RoleError("; ".join(problems))
    return done or [f"role {name}: grants as they should be"]


def verify(cursor, name: str) -> list[str]:
    """What is wrong with the role: an attribute or membership it must not have, a privilege beyond
    CONNECT, USAGE on public and EXECUTE on FUNCTIONS in this database, or one of those missing. []: none."""
    problems = []
    cursor.execute("SELECT oid, rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls,"
                   " rolcanlogin FROM pg_roles WHERE rolname = %s", [name])
    row = cursor.fetchone()
    if row is None:
        return [f"no role {name}"]
    oid, *flags = row
    for flag, value, wanted in zip(("SUPERUSER", "CREATEDB", "CREATEROLE", "INHERIT", "REPLICATION", "BYPASSRLS",
                                    "LOGIN"), flags, (False,) * 6 + (True,), strict=True):
        if value != wanted:
            problems.append(f"{'has' if value else 'lacks'} {flag}")
    cursor.execute("SELECT count(*) FROM pg_auth_members WHERE member = %s", [oid])
    if cursor.fetchone()[0]:
        problems.append("is a member of other roles")
    cursor.execute("SELECT has_database_privilege(%s, current_database(), 'CONNECT'),"
                   " has_database_privilege(%s, current_database(), 'CREATE'),"
                   " has_database_privilege(%s, current_database(), 'TEMP')", [name] * 3)
    connect, create, temp = cursor.fetchone()
    if not connect:
        problems.append("cannot CONNECT")
    if create or temp:
        problems.append("may CREATE schemas or TEMP tables in the database (PUBLIC's TEMP is revoked by the"
                        " database's owner or a superuser)")
    cursor.execute("SELECT string_agg(nspname, ', ' ORDER BY nspname) FROM pg_namespace"
                   " WHERE has_schema_privilege(%s, oid, 'CREATE')", [name])
    schemas = cursor.fetchone()[0]
    if schemas:
        problems.append(f"may CREATE in schemas {schemas}")
    cursor.execute(
        "SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.oid::regclass::text) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'"
        " AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
        " AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(%s, c.oid, 'USAGE, SELECT, UPDATE')"
        " ELSE has_table_privilege(%s, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')"
        " OR has_any_column_privilege(%s, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES') END", [name] * 3)
    relations = cursor.fetchone()[0]
    if relations:
        problems.append(f"has privileges on {relations}")
    cursor.execute("SELECT p.oid::regprocedure::text, has_function_privilege(%s, p.oid, 'EXECUTE')"
                   " FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY(%s)",
                   [name, tripleplay_functions()])
    executable = set()
    for signature, allowed in cursor.fetchall():
        if allowed:
            executable.add(signature)
            if signature not in FUNCTIONS.values():
                problems.append(f"may call {signature}")
    for signature in FUNCTIONS.values():
        if signature not in executable:
            problems.append(f"cannot call {signature}")
    return problems


def grant_if_exists(schema_editor) -> None:
    """A migration's step after it (re)creates one of FUNCTIONS: EXECUTE granted to TRIPLEPLAY_RADIUS_SQL_URL's
    role when that role exists (PostgreSQL; nothing otherwise: the command grants when it creates the role).
    CREATE OR REPLACE keeps a function's grants, so only a function dropped and created again needs it."""
    if schema_editor.connection.vendor != "postgresql":
        return
    name = configured_role()
    if not name or not _NAME.match(name):
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_user <> %s AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", [name, name])
        if not cursor.fetchone()[0]:
            return
        for signature in FUNCTIONS.values():
            cursor.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{name}"')
