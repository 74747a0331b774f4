from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "tripleplay.access"
    label = "access"
