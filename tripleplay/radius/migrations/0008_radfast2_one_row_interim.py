"""PostgreSQL: radius_sql_interim in its one-row form (D295): it finds the charging session by its
fast_key and writes that row alone (the NAS's counters on it, folded into the NAS session row by the
Python path). The radius app's files installed again; the charging sessions of the open NAS sessions
given their NAS's counters (the retransmission check's starting point; their key comes with their
next window)."""

from django.db import migrations

from tripleplay.core.sqlfiles import install


def up(apps, schema_editor):
    install(schema_editor, "radius")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "UPDATE charging_sessions_chargingsession s SET reported_input = ns.input_octets,"
            " reported_output = ns.output_octets, reported_seconds = ns.session_time_seconds,"
            " reported_address = ns.framed_ip FROM radius_networksession ns"
            " WHERE s.client = 'nas:' || ns.nas_id AND s.session_id = ns.acct_session_id AND s.status = 'active'",
            params=None)


class Migration(migrations.Migration):
    dependencies = [("radius", "0007_radauth2_post_auth_batch"),
                    ("charging_sessions", "0004_radfast2_fast_key_and_reports")]
    # Its UPDATE names the session row's reported_* columns, which sessions 0005 moves to the window table.
    run_before = [("charging_sessions", "0005_radfast3_window_table")]
    operations = [migrations.RunPython(up, migrations.RunPython.noop)]
