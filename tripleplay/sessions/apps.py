from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "tripleplay.sessions"
    label = "charging_sessions"  # "sessions" is django.contrib.sessions' label
    verbose_name = "Charging sessions"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.sessions import jobs

        scheduler.register(*jobs.JOBS)
