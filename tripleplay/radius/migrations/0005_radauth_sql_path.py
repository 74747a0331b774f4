"""The SQL path of a PAP Access-Request (D270-D273): each internet password's SSHA2-512 form beside
its encrypted one (filled for the existing ones by decrypting them with the configured credentials
keys), the products' reply attributes materialised per vendor (filled from radius.attributes), and
radius/sql/radius_sql_authorize.sql's functions installed (PostgreSQL only)."""

import django.db.models.deletion
from django.db import migrations, models

from tripleplay.core.sqlfiles import install


def fill(apps, schema_editor):
    from tripleplay.iptv import secrets
    from tripleplay.radius.passwords import ssha512
    from tripleplay.radius.services import reply_attribute_rows

    InternetLogin = apps.get_model("radius", "InternetLogin")
    for login in InternetLogin.objects.filter(password_ssha512="").only("id", "password_encrypted").iterator():
        InternetLogin.objects.filter(pk=login.pk).update(
            password_ssha512=ssha512(secrets.decrypt(login.password_encrypted)))
    ReplyAttribute = apps.get_model("radius", "ReplyAttribute")
    ReplyAttribute.objects.all().delete()
    ReplyAttribute.objects.bulk_create(
        ReplyAttribute(product_id=service.product_id, vendor=vendor, position=position, attribute=name, value=value)
        for service in apps.get_model("radius", "InternetService").objects.all()
        for vendor, position, name, value in reply_attribute_rows(service))


def install_functions(apps, schema_editor):
    install(schema_editor, "radius")


def drop_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in ("radius_sql_authorize_pap", "radius_sql_post_auth"):
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_vacation_plan_hold_fee'),
        ('radius', '0004_updated_nascommand_updated_at'),
        ('ledger', '0005_ledger_read_functions'),  # radius_sql_authorize_pap reads the funds through it
    ]

    operations = [
        migrations.AddField(
            model_name='internetlogin',
            name='password_ssha512',
            field=models.TextField(blank=True, default=''),
        ),
        migrations.CreateModel(
            name='ReplyAttribute',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('vendor', models.CharField(choices=[('mikrotik', 'MikroTik RouterOS'), ('huawei', 'Huawei ME60 / NE40E BRAS')], max_length=16)),
                ('position', models.PositiveSmallIntegerField()),
                ('attribute', models.CharField(max_length=64)),
                ('value', models.CharField(max_length=253)),
                ('product', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.product')),
            ],
            options={
                'ordering': ['product', 'vendor', 'position'],
                'constraints': [models.UniqueConstraint(fields=('product', 'vendor', 'position'), name='radius_reply_attribute_position')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(install_functions, drop_functions),
    ]
