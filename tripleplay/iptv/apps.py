from django.apps import AppConfig


class IptvConfig(AppConfig):
    name = "tripleplay.iptv"
    label = "iptv"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.customers import hooks as customers
        from tripleplay.iptv import jobs, provisioning

        # A billing change writes its provisioning commands in its own transaction (the outbox).
        customers.CUSTOMER_CHANGED.register(provisioning.sync_customer, order=10)
        customers.ACCOUNT_CHANGED.register(provisioning.sync_account, order=10)
        scheduler.register(*jobs.JOBS)
        for loop in jobs.LOOPS:
            scheduler.register_loop(loop)
