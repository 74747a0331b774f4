from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "tripleplay.subscriptions"
    label = "subscriptions"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.ledger import hooks as ledger
        from tripleplay.subscriptions import jobs, services

        # Lock order customer -> assignments -> funds: after invoicing's customer-row lock (10).
        ledger.PAYMENT_LOCKING.register(services.on_payment_locking, order=20)
        # Due fees are charged before invoicing settles (20), as the charge run would have done.
        ledger.PAYMENT_RECORDED.register(services.on_payment_recorded, order=10)
        scheduler.register(*jobs.JOBS)
