from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "tripleplay.web"
    label = "web"
    verbose_name = "Operator web interface"
