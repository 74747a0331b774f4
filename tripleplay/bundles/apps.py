from django.apps import AppConfig


class BundlesConfig(AppConfig):
    name = "tripleplay.bundles"
    label = "bundles"
