from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "tripleplay.webhooks"
    label = "webhooks"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.customers import hooks as customers
        from tripleplay.invoicing import hooks as invoicing
        from tripleplay.iptv import hooks as iptv
        from tripleplay.ledger import hooks as ledger
        from tripleplay.orders import hooks as orders
        from tripleplay.sessions import hooks as sessions
        from tripleplay.webhooks import handlers, jobs, retention

        # Each writes the event (and its deliveries) in the transaction of the change (the outbox).
        customers.CUSTOMER_CHANGED.register(handlers.customer_changed, order=30)
        ledger.PAYMENT_RECORDED.register(handlers.payment_recorded, order=30)
        invoicing.INVOICES_ISSUED.register(handlers.invoices_issued, order=10)
        invoicing.INVOICES_PAID.register(handlers.invoices_paid, order=10)
        iptv.PROVISIONING_FAILED.register(handlers.provisioning_failed, order=10)
        sessions.SESSION_MUST_END.register(handlers.session_must_end, order=20)  # after radius's Disconnect (10)
        orders.ORDER_PLACED.register(handlers.order_placed, order=10)
        for loop in jobs.LOOPS:
            scheduler.register_loop(loop)
        scheduler.register(scheduler.PeriodicJob("webhooks-prune", retention.prune_job, default_seconds=86400))
