from django.apps import AppConfig


class SubscriberAccessConfig(AppConfig):
    name = "tripleplay.subscriber_access"
    label = "subscriber_access"
    verbose_name = "Subscriber portal access"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.subscriber_access import jobs

        scheduler.register(*jobs.JOBS)
