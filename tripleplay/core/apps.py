from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tripleplay.core"
    label = "core"
