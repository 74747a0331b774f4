from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_scheduled_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="scheduledjob",
            name="last_succeeded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="scheduledjob",
            name="last_duration_ms",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="scheduledjob",
            name="last_ok",
            field=models.BooleanField(null=True),
        ),
        migrations.CreateModel(
            name="WorkerHeartbeat",
            fields=[
                ("name", models.CharField(max_length=100, primary_key=True, serialize=False)),
                ("started_at", models.DateTimeField()),
                ("seen_at", models.DateTimeField(db_index=True)),
                ("runs_jobs", models.BooleanField(default=True)),
            ],
        ),
    ]
