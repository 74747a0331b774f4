from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "tripleplay.notifications"
    label = "notifications"

    def ready(self):
        from tripleplay.collections import hooks as collections
        from tripleplay.core import scheduler
        from tripleplay.customers import hooks as customers
        from tripleplay.invoicing import hooks as invoicing
        from tripleplay.notifications import handlers, jobs
        from tripleplay.promotions import hooks as promotions

        # Each writes its notifications in the transaction of the change (the outbox). Orders after the
        # existing handlers: iptv 10, radius 20, webhooks 30 on CUSTOMER_CHANGED; webhooks 10 on
        # INVOICES_ISSUED; collections' hook is new.
        customers.CUSTOMER_CHANGED.register(handlers.customer_changed, order=40)
        invoicing.INVOICES_ISSUED.register(handlers.invoices_issued, order=20)
        invoicing.CREDIT_NOTE_ISSUED.register(handlers.credit_note_issued, order=10)
        collections.COLLECTION_STEP_DONE.register(handlers.collection_step_done, order=10)
        promotions.TRIAL_ENDING.register(handlers.trial_ending, order=10)
        scheduler.register(*jobs.JOBS)
        for loop in jobs.LOOPS:
            scheduler.register_loop(loop)
