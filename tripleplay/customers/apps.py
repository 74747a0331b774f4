from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "tripleplay.customers"
    label = "customers"
