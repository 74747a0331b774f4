from django.apps import AppConfig


class PpvConfig(AppConfig):
    name = "tripleplay.ppv"
    label = "ppv"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.ppv import jobs

        scheduler.register(*jobs.JOBS)
