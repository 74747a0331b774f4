"""Bundle rules (docs/charging.md "Bundle discounts", D139-D142): what an operator markets as a
bundle. The discounts themselves are ledger credit entries (source ``bundle``), written when the fee
they discount is invoiced (tripleplay.bundles.services); no other table holds them.

``tiers`` is a list, best first, of {"services": [...], "at_least": n, "percent": "20"} or
{"services": [...], "at_least": n, "amount_minor": 500}; the service layer checks it
(``services._tiers``) and the pure rules read it (``discounts.Tier``).
"""

from django.db import models
from django.db.models import F, Q

from tripleplay.core.models import ActorFields


class BundleRule(ActorFields):
    name = models.CharField(max_length=100, unique=True)
    tiers = models.JSONField(default=list)
    # Which recurring fees it discounts: fees of these service types, and fees of these product codes.
    fee_service_types = models.JSONField(default=list)
    fee_products = models.JSONField(default=list)
    currency = models.CharField(max_length=3, blank=True)  # of the fixed amounts; "" when only percentages
    active_from = models.DateField()
    active_until = models.DateField(null=True, blank=True)  # exclusive; null: open-ended
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(active_until__isnull=True) | Q(active_until__gt=F("active_from")),
                                   name="bundlerule_until_after_from"),
        ]

    def __str__(self) -> str:
        return self.name
