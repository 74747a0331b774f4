from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "tripleplay.customers"
    label = "customers"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.customers import jobs

        scheduler.register(*jobs.JOBS)
