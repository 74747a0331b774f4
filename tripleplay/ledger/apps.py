from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "tripleplay.ledger"
    label = "ledger"
