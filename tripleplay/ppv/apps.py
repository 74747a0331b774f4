from django.apps import AppConfig


class PpvConfig(AppConfig):
    name = "tripleplay.ppv"
    label = "ppv"
