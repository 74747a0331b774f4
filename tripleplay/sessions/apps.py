from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "tripleplay.sessions"
    label = "charging_sessions"  # "sessions" is django.contrib.sessions' label
    verbose_name = "Charging sessions"

    def ready(self):
        from tripleplay.core import scheduler
        from tripleplay.customers import hooks as customers
        from tripleplay.sessions import jobs, services

        # An account or customer no longer active closes its sessions' fast windows, in the change's
        # transaction (D295). After the clients' own reactions (RADIUS, order 20: the Disconnect outbox
        # locks its NAS session rows), so the rows are taken in a report's order (docs/concurrency.md).
        customers.CUSTOMER_CHANGED.register(services.close_windows_of_customer, order=25)
        customers.ACCOUNT_CHANGED.register(services.close_windows_of_account, order=25)
        scheduler.register(*jobs.JOBS)
