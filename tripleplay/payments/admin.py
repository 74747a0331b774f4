from django.contrib import admin

from tripleplay.core.admin_base import ReadOnlyAdmin
from tripleplay.payments.models import (
    AutoPayAttempt,
    CheckoutSession,
    OnlinePayment,
    OnlineRefund,
    PaymentMethod,
    PaymentProfile,
    WebhookEvent,
)

# Written by tripleplay.payments.services only.
for model in (PaymentProfile, PaymentMethod, CheckoutSession, OnlinePayment, OnlineRefund, AutoPayAttempt, WebhookEvent):
    admin.site.register(model, ReadOnlyAdmin)
