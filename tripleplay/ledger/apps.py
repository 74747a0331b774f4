from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "tripleplay.ledger"
    label = "ledger"

    def ready(self):
        # Every customer has one funds row, opened at sign-up and kept in step with its credit limit.
        from tripleplay.customers import hooks as customers
        from tripleplay.ledger import services

        customers.CUSTOMER_SIGNED_UP.register(services.open_funds, order=10)
        customers.CREDIT_LIMIT_CHANGED.register(services.set_credit_limit, order=10)
