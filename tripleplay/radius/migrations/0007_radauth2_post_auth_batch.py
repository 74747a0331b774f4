"""The SQL path, faster (D290, D291): radius_sql_post_auth_batch (radius/sql/radius_sql_authorize.sql),
the accepted logins recorded many to a statement; radius_sql_authorize_pap reading the funds through the
ledger's set-returning ledger_available_funds and answering the materialised reply rows as they are; the
reply attributes materialised again, without a vendor's reply that has a value rlm_sql would unquote
(the function no longer checks for one). The radius app's files installed again (PostgreSQL)."""

from django.db import migrations

from tripleplay.core.sqlfiles import install


def refill(apps, schema_editor):
    from tripleplay.radius.services import reply_attribute_rows

    ReplyAttribute = apps.get_model("radius", "ReplyAttribute")
    ReplyAttribute.objects.all().delete()
    ReplyAttribute.objects.bulk_create(
        ReplyAttribute(product_id=service.product_id, vendor=vendor, position=position, attribute=name, value=value)
        for service in apps.get_model("radius", "InternetService").objects.all()
        for vendor, position, name, value in reply_attribute_rows(service)
    )


def up(apps, schema_editor):
    install(schema_editor, "radius")


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS radius_sql_post_auth_batch", params=None)


class Migration(migrations.Migration):
    dependencies = [("radius", "0006_radfast_sql_interim"), ("ledger", "0006_radauth2_available_funds")]
    operations = [migrations.RunPython(refill, migrations.RunPython.noop), migrations.RunPython(up, down)]
