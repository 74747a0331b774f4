from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "tripleplay.payments"
    label = "payments"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.payments import jobs

        scheduler.register(*jobs.JOBS)
