from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Commands that run the whole system rather than one domain (`tripleplay serve`, `demo`,
    `simulate`): they sit on top of every layer, so they may import the WSGI application, the demo
    seeds and the simulators, which no domain app may."""

    name = "tripleplay.ops"
    label = "ops"
    verbose_name = "Operations"
