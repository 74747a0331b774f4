from django.contrib import admin
from django.urls import include, path, re_path

from tripleplay.api import aaa, tvip
from tripleplay.api import xml as xml_endpoints
from tripleplay.api.errors import not_found_view as api_not_found
from tripleplay.api.main import api
from tripleplay.monitoring import views as monitoring

admin.site.site_header = "Tripleplay administration"
admin.site.site_title = "Tripleplay"

urlpatterns = [
    path("healthz", monitoring.healthz),
    path("readyz", monitoring.readyz),
    path("metrics", monitoring.metrics),
    path("api/v1/", api.urls),
    path("xml/v1/catalog", xml_endpoints.catalog_push, name="xml-catalog"),
    path("xml/v1/ppv", xml_endpoints.ppv, name="xml-ppv"),
    path("xml/v1/orders", xml_endpoints.orders, name="xml-orders"),
    path("aaa/v1/radius/clients/<str:address>", aaa.client, name="aaa-client"),
    path("aaa/v1/radius/authorize", aaa.authorize, name="aaa-authorize"),
    path("aaa/v1/radius/post-auth", aaa.post_auth, name="aaa-post-auth"),
    path("aaa/v1/radius/post-auth/reject", aaa.post_auth_reject, name="aaa-post-auth-reject"),
    path("aaa/v1/radius/accounting", aaa.accounting, name="aaa-accounting"),
    path("tvip/v1/<slug:platform>/billing/tariffs/<str:tariff>/<str:action>", tvip.billing, name="tvip-billing"),
    re_path(r"^tvip/v1/", tvip.not_found),
    re_path(r"^api/v1/", api_not_found),  # unknown API paths: a JSON 404 in the API's error shape
    path("admin/", admin.site.urls),
    path("my/", include("tripleplay.selfcare.urls")),  # the subscriber portal, its own login (docs/selfcare.md)
    path("", include("tripleplay.web.urls")),  # the operator web interface
]

# HTML error pages without a stack trace (the API answers JSON errors itself).
handler400 = "tripleplay.web.errors.bad_request"
handler403 = "tripleplay.web.errors.permission_denied"
handler404 = "tripleplay.web.errors.not_found"
handler500 = "tripleplay.web.errors.server_error"
