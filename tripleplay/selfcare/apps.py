from django.apps import AppConfig


class SelfcareConfig(AppConfig):
    name = "tripleplay.selfcare"
    label = "selfcare"
    verbose_name = "Subscriber self-care portal"
