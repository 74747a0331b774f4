from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "tripleplay.subscriptions"
    label = "subscriptions"
