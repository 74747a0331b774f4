from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    name = "tripleplay.collections"
    label = "collections"
