"""PostgreSQL, least privilege for the SQL path (D300): radius_sql_authorize_pap, radius_sql_interim and
radius_sql_post_auth_batch become SECURITY DEFINER with a pinned search_path (radius/sql/*.sql), EXECUTE on
every radius function is revoked from PUBLIC (core.sqlfiles.install), and the three are granted to
TRIPLEPLAY_RADIUS_SQL_URL's role if it exists already (radius.sqlrole; `tripleplay radius-sql-role` creates
it and grants). Down: the functions as invoker's again, executable by PUBLIC as before."""

from django.db import migrations

from tripleplay.core.sqlfiles import install
from tripleplay.radius.sqlrole import FUNCTIONS, grant_if_exists


def up(apps, schema_editor):
    install(schema_editor, "radius")
    grant_if_exists(schema_editor)


def down(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for signature in FUNCTIONS.values():
        schema_editor.execute(f"ALTER FUNCTION {signature} SECURITY INVOKER RESET search_path", params=None)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace"
                       " AND p.proname LIKE %s", ["radius\\_%"])
        for (signature,) in cursor.fetchall():
            schema_editor.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO PUBLIC", params=None)


class Migration(migrations.Migration):
    dependencies = [("radius", "0009_radfast3_window_table"), ("ledger", "0008_radrole_revoke_public"),
                    ("charging_sessions", "0006_radrole_revoke_public")]
    operations = [migrations.RunPython(up, down)]
