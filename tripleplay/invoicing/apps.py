from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "tripleplay.invoicing"
    label = "invoicing"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.invoicing import jobs, services
        from tripleplay.ledger import hooks as ledger

        # The customer row first (order 10): the lock order starts there (docs/concurrency.md).
        ledger.PAYMENT_LOCKING.register(services.on_payment_locking, order=10)
        # After subscriptions charged what a prepaid suspension left due (10).
        ledger.PAYMENT_RECORDED.register(services.on_payment_recorded, order=20)
        scheduler.register(*jobs.JOBS)
