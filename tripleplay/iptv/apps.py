from django.apps import AppConfig


class IptvConfig(AppConfig):
    name = "tripleplay.iptv"
    label = "iptv"
