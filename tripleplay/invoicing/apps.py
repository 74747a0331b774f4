from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "tripleplay.invoicing"
    label = "invoicing"
