"""Channel packages as products: link a package to a product, or sell a package as a new add-on
product with its subscription plan in one step. Changing what a product grants re-provisions every
account that has the product."""

from __future__ import annotations

from django.db import transaction

from tripleplay import clock
from tripleplay.audit.services import record
from tripleplay.catalog import services as catalog_services
from tripleplay.catalog.models import Product, ServiceType
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput
from tripleplay.iptv import provisioning
from tripleplay.iptv.models import CatalogItemStatus, ChannelPackage, ProductPackage
from tripleplay.iptv.selectors import accounts_with_product


def _resync(actor: Actor, product: Product, event: str) -> None:
    for account in accounts_with_product(product.pk):
        provisioning.sync_account(actor, account, event)


@transaction.atomic
def link_package(actor: Actor, package: ChannelPackage, product: Product) -> ProductPackage:
    if not product.services.filter(service_type=ServiceType.IPTV).exists():
        raise InvalidInput(f"product {product.code!r} does not include the iptv service", code="not_iptv_product")
    if package.status != CatalogItemStatus.ACTIVE:
        raise Conflict(f"package {package.external_id!r} is retired on its platform", code="package_retired")
    if ProductPackage.objects.filter(product=product, package=package).exists():
        raise Conflict(f"{product.code!r} already grants {package.external_id!r}", code="duplicate")
    link = ProductPackage.objects.create(product=product, package=package, created_at=clock.now())
    record(actor, "product.package_linked", product, package=package.external_id, platform=package.platform.code)
    _resync(actor, product, "Product/Packages/Changed")
    return link


@transaction.atomic
def unlink_package(actor: Actor, package: ChannelPackage, product: Product) -> None:
    deleted, _ = ProductPackage.objects.filter(product=product, package=package).delete()
    if not deleted:
        raise Conflict(f"{product.code!r} does not grant {package.external_id!r}", code="not_linked")
    record(actor, "product.package_unlinked", product, package=package.external_id, platform=package.platform.code)
    _resync(actor, product, "Product/Packages/Changed")


@transaction.atomic
def sell_package_as_addon(actor: Actor, package: ChannelPackage, *, code: str, name: str | None = None,
                          currency: str, plan: dict) -> Product:
    """Create an add-on product granting ``package``, with one subscription plan (``plan`` holds
    catalog.services.create_plan's arguments: code, name, periodic_fee_minor ...)."""
    if package.status != CatalogItemStatus.ACTIVE:
        raise Conflict(f"package {package.external_id!r} is retired on its platform", code="package_retired")
    product = catalog_services.create_product(actor, code=code, name=name or package.name, kind="addon",
                                              currency=currency, services=[ServiceType.IPTV],
                                              description=f"Channel package {package.name} on {package.platform.name}")
    catalog_services.create_plan(actor, product, **plan)
    ProductPackage.objects.create(product=product, package=package, created_at=clock.now())
    record(actor, "product.package_linked", product, package=package.external_id, platform=package.platform.code)
    return product
