"""The operator web interface, mounted at / (tripleplay.urls)."""

from django.urls import path

from tripleplay.web.views import catalog, customers, home, network, payments, platforms, reports, vouchers, webhooks

app_name = "web"

urlpatterns = [
    path("", home.dashboard, name="dashboard"),
    path("login/", home.LoginView.as_view(), name="login"),
    path("logout/", home.LogoutView.as_view(), name="logout"),
    path("audit/", home.audit, name="audit"),
    # customers
    path("customers/", customers.customer_list, name="customers"),
    path("customers/new/", customers.signup, name="signup"),
    path("customers/new/submit", customers.signup_submit, name="signup_submit"),
    path("customers/<int:customer_id>/", customers.customer_detail, name="customer"),
    path("customers/<int:customer_id>/provisioning/", customers.signup_done, name="signup_done"),
    path("customers/<int:customer_id>/edit/", customers.customer_edit, name="customer_edit"),
    path("customers/<int:customer_id>/update", customers.customer_update, name="customer_update"),
    path("customers/<int:customer_id>/status", customers.customer_status, name="customer_status"),
    path("customers/<int:customer_id>/portal/invite", customers.portal_invite, name="portal_invite"),
    path("customers/<int:customer_id>/portal/disable", customers.portal_disable, name="portal_disable"),
    path("customers/<int:customer_id>/money/<str:kind>", customers.money, name="money"),
    path("customers/<int:customer_id>/accounts/new", customers.account_create, name="account_create"),
    path("accounts/<int:account_id>/main-product", customers.main_product, name="main_product"),
    path("accounts/<int:account_id>/status", customers.account_status, name="account_status"),
    path("accounts/<int:account_id>/update", customers.account_update, name="account_update"),
    path("accounts/<int:account_id>/addons", customers.add_addon, name="add_addon"),
    path("accounts/<int:account_id>/addons/<int:assignment_id>/remove", customers.remove_addon, name="remove_addon"),
    path("subscribers/<int:subscriber_id>/retry", customers.subscriber_retry, name="subscriber_retry"),
    path("subscribers/<int:subscriber_id>/cancel", customers.subscriber_cancel, name="subscriber_cancel"),
    path("customers/<int:customer_id>/invoices/new", customers.invoice_issue, name="invoice_issue"),
    path("invoices/<int:invoice_id>/pdf", customers.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/lines.csv", customers.invoice_csv, name="invoice_csv"),
    path("invoices/<int:invoice_id>/void", customers.invoice_void, name="invoice_void"),
    path("ppv/purchases/<int:purchase_id>/refund", customers.ppv_refund, name="ppv_refund"),
    # online payments (docs/payments.md)
    path("customers/<int:customer_id>/payments/", payments.customer_payments, name="customer_payments"),
    path("customers/<int:customer_id>/payments/checkout", payments.send_checkout, name="send_checkout"),
    path("customers/<int:customer_id>/payments/autopay", payments.autopay, name="autopay"),
    path("online-payments/<int:payment_id>/refund", payments.refund, name="online_refund"),
    path("payments/return/", payments.checkout_return, name="checkout_return"),
    # catalog
    path("catalog/", catalog.products, name="catalog"),
    path("catalog/products/new", catalog.product_create, name="product_create"),
    path("catalog/products/<int:product_id>/plans/new", catalog.plan_create, name="plan_create"),
    path("catalog/products/<int:product_id>/retire", catalog.product_retire, name="product_retire"),
    path("catalog/rate-tables/", catalog.rate_tables, name="rate_tables"),
    path("catalog/rate-tables/new", catalog.rate_table_create, name="rate_table_create"),
    path("catalog/rate-tables/<int:table_id>/rates", catalog.rate_set, name="rate_set"),
    path("catalog/rate-tables/<int:table_id>/peak", catalog.peak_window_set, name="peak_window_set"),
    path("catalog/packages/", catalog.packages, name="packages"),
    path("catalog/packages/<int:package_id>/link", catalog.package_link, name="package_link"),
    path("catalog/packages/<int:package_id>/sell", catalog.package_sell, name="package_sell"),
    path("catalog/packages/import/<int:platform_id>", catalog.package_import, name="package_import"),
    path("catalog/ppv-events/", catalog.ppv_events, name="ppv_events"),
    path("catalog/ppv-purchases/", catalog.ppv_purchases, name="ppv_purchases"),
    path("catalog/ppv-events/new", catalog.ppv_event_create, name="ppv_event_create"),
    # platforms
    path("platforms/", platforms.platform_list, name="platforms"),
    path("platforms/new", platforms.platform_create, name="platform_create"),
    path("platforms/queue/", platforms.queue, name="queue"),
    path("platforms/<int:platform_id>/", platforms.platform_detail, name="platform"),
    path("platforms/<int:platform_id>/update", platforms.platform_update, name="platform_update"),
    path("platforms/<int:platform_id>/test", platforms.platform_test, name="platform_test"),
    path("platforms/<int:platform_id>/token", platforms.platform_token, name="platform_token"),
    path("platforms/<int:platform_id>/reconcile", platforms.platform_reconcile, name="platform_reconcile"),
    # vouchers
    path("vouchers/", vouchers.batches, name="vouchers"),
    path("vouchers/new", vouchers.batch_create, name="voucher_batch_create"),
    path("vouchers/redemptions/", vouchers.redemptions, name="voucher_redemptions"),
    path("vouchers/<int:batch_id>/", vouchers.batch_detail, name="voucher_batch"),
    path("vouchers/<int:batch_id>/disable", vouchers.batch_disable, name="voucher_batch_disable"),
    # internet access
    path("network/", network.network, name="network"),
    path("network/nas/new", network.nas_create, name="nas_create"),
    path("network/nas/<int:nas_id>/update", network.nas_update, name="nas_update"),
    path("network/sessions/<int:session_id>/disconnect", network.session_disconnect, name="session_disconnect"),
    path("network/commands/<int:command_id>/retry", network.command_retry, name="command_retry"),
    # webhooks
    path("webhooks/", webhooks.endpoint_list, name="webhooks"),
    path("webhooks/new", webhooks.endpoint_create, name="webhook_create"),
    path("webhooks/<int:endpoint_id>/", webhooks.endpoint_detail, name="webhook"),
    path("webhooks/<int:endpoint_id>/update", webhooks.endpoint_update, name="webhook_update"),
    path("webhooks/<int:endpoint_id>/rotate", webhooks.endpoint_rotate, name="webhook_rotate"),
    path("webhooks/deliveries/<int:delivery_id>/", webhooks.delivery_detail, name="webhook_delivery"),
    path("webhooks/deliveries/<int:delivery_id>/replay", webhooks.delivery_replay, name="webhook_delivery_replay"),
    path("webhooks/events/<int:event_id>/replay", webhooks.event_replay, name="webhook_event_replay"),
    # reports
    path("reports/", reports.reports, name="reports"),
]
