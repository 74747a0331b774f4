from django.apps import AppConfig


class RadiusConfig(AppConfig):
    name = "tripleplay.radius"
    label = "radius"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.customers import hooks as customers
        from tripleplay.radius import checks, jobs, services  # noqa: F401 - checks registers the deploy check
        from tripleplay.sessions import hooks as sessions

        # A suspension, block or closure disconnects the sessions in the same transaction (the outbox).
        customers.CUSTOMER_CHANGED.register(services.disconnect_customer_if_barred, order=20)
        customers.ACCOUNT_CHANGED.register(services.disconnect_account_if_barred, order=20)
        # A new main product's rates reach the open sessions as a CoA-Request, in the same transaction (D127).
        customers.ACCOUNT_CHANGED.register(services.coa_on_main_product_change, order=21)
        # A session whose quota could not be renewed (funds spent) is disconnected, in the report's transaction.
        sessions.SESSION_MUST_END.register(services.disconnect_on_must_end, order=10)
        for loop in jobs.LOOPS:
            scheduler.register_loop(loop)
        scheduler.register(*jobs.JOBS)
