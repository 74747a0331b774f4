from django.apps import AppConfig


class VouchersConfig(AppConfig):
    name = "tripleplay.vouchers"
    label = "vouchers"
