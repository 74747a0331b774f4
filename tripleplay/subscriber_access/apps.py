from django.apps import AppConfig


class SubscriberAccessConfig(AppConfig):
    name = "tripleplay.subscriber_access"
    label = "subscriber_access"
    verbose_name = "Subscriber portal access"
