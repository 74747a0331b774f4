from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "tripleplay.orders"
    label = "orders"
