from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "tripleplay.catalog"
    label = "catalog"
