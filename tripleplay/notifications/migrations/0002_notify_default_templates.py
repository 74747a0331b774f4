"""The shipped templates (catalogue.DEFAULTS), English and German, for operators to edit."""

from django.db import migrations


def seed(apps, schema_editor):
    from tripleplay.notifications.catalogue import DEFAULTS

    Template = apps.get_model("notifications", "Template")
    have = set(Template.objects.values_list("kind", "channel", "language"))
    Template.objects.bulk_create([Template(kind=k, channel=c, language=lang, subject=subject, body=body)
                                  for (k, c, lang), (subject, body) in DEFAULTS.items() if (k, c, lang) not in have])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_notify_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
