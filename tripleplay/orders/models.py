"""Orders from the TV screen (docs/orders.md, D180-D183): what a platform may order for its own
subscribers, and one row per order the platform sent, keyed by its own transaction id.

``TvOrderable``: the operator's switch, per platform and product. A row says "this platform may
order this product for its subscribers" (an add-on: add and remove; a main product: change to it).
No row, no order (``not_orderable``).

``TvOrder``: every order, done or declined, with the answer given. A retry with the same transaction
id finds the row and gets that answer again; the same id with another request is a conflict.
"""

from django.db import models

from tripleplay.catalog.models import Product, SubscriptionPlan
from tripleplay.customers.models import Account, AccountProduct, Customer
from tripleplay.iptv.models import Platform


class TvOrderable(models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="tv_orderables")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="tv_orderables")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["platform_id", "product_id"]
        constraints = [models.UniqueConstraint(fields=["platform", "product"], name="orders_orderable_unique")]

    def __str__(self) -> str:
        return f"{self.platform_id}:{self.product_id}"


class OrderAction(models.TextChoices):
    ADD = "add"  # an add-on product added from today, its first-day fees charged
    REMOVE = "remove"  # an add-on ended today, its unused part credited
    CHANGE = "change"  # the main product replaced from today: old one credited, new one charged


class OrderResult(models.TextChoices):
    DONE = "done"
    DECLINED = "declined"


class TvOrder(models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="tv_orders", db_index=False)
    transaction_id = models.CharField(max_length=100)
    subscriber_ref = models.CharField(max_length=100)
    action = models.CharField(max_length=8, choices=OrderAction.choices)
    product_ref = models.CharField(max_length=100)
    plan_ref = models.CharField(max_length=100, blank=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="tv_orders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="tv_orders")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    plan = models.ForeignKey(SubscriptionPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    assignment = models.ForeignKey(AccountProduct, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    result = models.CharField(max_length=8, choices=OrderResult.choices)
    code = models.CharField(max_length=40)
    charged_minor = models.BigIntegerField(default=0)  # net: first-day fees minus credits (negative: credited)
    currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField()
    request = models.JSONField(default=dict)  # as asked: a retry must ask the same
    answer = models.JSONField(default=dict)  # as answered (with "_http"): replayed to every retry

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["platform", "transaction_id"], name="orders_transaction_unique")]

    def __str__(self) -> str:
        return f"{self.platform_id}:{self.transaction_id} {self.action} {self.result}"
