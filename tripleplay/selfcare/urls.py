"""The subscriber portal, mounted at /my/ (tripleplay.urls)."""

from django.urls import path

from tripleplay.selfcare import views

app_name = "selfcare"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout", views.logout, name="logout"),
    path("password/forgot/", views.forgot_password, name="forgot_password"),
    path("password/<str:token>", views.set_password, name="set_password"),
    path("language", views.language, name="language"),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<int:invoice_id>/pdf", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/pay", views.invoice_pay, name="invoice_pay"),
    path("top-up", views.top_up, name="top_up"),
    path("checkout/", views.checkout_return, name="checkout_return"),
    path("voucher", views.redeem_voucher, name="redeem_voucher"),
    path("payments/", views.payments, name="payments"),
    path("usage/", views.usage, name="usage"),
    path("services/", views.services, name="services"),
    path("accounts/<int:account_id>/addons/<int:plan_id>/", views.addon_confirm, name="addon_confirm"),
    path("accounts/<int:account_id>/addons/<int:plan_id>/add", views.addon_add, name="addon_add"),
    path("accounts/<int:account_id>/assignments/<int:assignment_id>/", views.addon_remove_confirm,
         name="addon_remove_confirm"),
    path("accounts/<int:account_id>/assignments/<int:assignment_id>/remove", views.addon_remove, name="addon_remove"),
    path("ppv/", views.ppv_events, name="ppv_events"),
    path("accounts/<int:account_id>/ppv/<int:event_id>/", views.ppv_confirm, name="ppv_confirm"),
    path("accounts/<int:account_id>/ppv/<int:event_id>/buy", views.ppv_buy, name="ppv_buy"),
    path("accounts/<int:account_id>/holds", views.hold_schedule, name="hold_schedule"),
    path("accounts/<int:account_id>/holds/<int:hold_id>/cancel", views.hold_cancel, name="hold_cancel"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/password", views.change_password, name="change_password"),
]
