from django.apps import AppConfig


class PromotionsConfig(AppConfig):
    name = "tripleplay.promotions"
    label = "promotions"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.promotions import jobs

        scheduler.register(*jobs.JOBS)
