from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "tripleplay.audit"
    label = "audit"
