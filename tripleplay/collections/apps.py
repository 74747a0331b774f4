from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    name = "tripleplay.collections"
    label = "collections"

    def ready(self):
        from tripleplay.collections import jobs, services
        from tripleplay.core import scheduler
        from tripleplay.invoicing import hooks as invoicing

        invoicing.PAYMENT_SETTLED.register(services.lift_if_cleared, order=10)
        scheduler.register(*jobs.JOBS)
