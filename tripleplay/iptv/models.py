"""IPTV integration: configured platforms, their channel packages and PPV events, the link between
packages and products, and the provisioning outbox.

Provisioning is desired-state based. Every billing change that matters to a platform writes a
``ProvisioningCommand`` (in the billing change's own transaction) that carries the *whole* desired
state of one account on one platform (exists, enabled, exact package set). The queue state lives on
``Subscriber`` (one row per account and platform): the newest pending command wins, so older ones
are superseded, never replayed out of order (docs/iptv.md).
"""

from django.db import models
from django.db.models import Q

from tripleplay.catalog.models import Product
from tripleplay.customers.models import Account


class Platform(models.Model):
    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32)  # an adapter kind from iptv.platforms.registry
    base_url = models.URLField(max_length=300)
    username = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField(blank=True)  # Fernet token; see iptv.secrets
    timeout_seconds = models.DecimalField(max_digits=6, decimal_places=2, default=10)
    options = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    # Credentials the platform uses to call tripleplay (catalog push, PPV): SHA-256 of a token.
    inbound_token_prefix = models.CharField(max_length=16, blank=True, db_index=True)
    inbound_token_hash = models.CharField(max_length=64, blank=True)
    # A shared secret the platform signs its calls with, kept readable because the signature is
    # computed from it (TVIP TMS's billing token, docs/platforms/tvip.md): Fernet, as secret_encrypted.
    inbound_secret_encrypted = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} [{self.code}]"


class PackageKind(models.TextChoices):
    CHANNEL = "channel"
    SERVICE = "service"


class CatalogItemStatus(models.TextChoices):
    ACTIVE = "active"
    RETIRED = "retired"  # no longer offered by the platform; kept because history references it


class ChannelPackage(models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="packages")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=PackageKind.choices, default=PackageKind.CHANNEL)
    description = models.TextField(blank=True)
    channels = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=CatalogItemStatus.choices, default=CatalogItemStatus.ACTIVE)
    first_seen_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["platform__code", "external_id"]
        constraints = [models.UniqueConstraint(fields=["platform", "external_id"], name="package_unique_per_platform")]

    def __str__(self) -> str:
        return f"{self.name} [{self.platform.code}:{self.external_id}]"


class ProductPackage(models.Model):
    """A product grants these channel packages on their platforms (usually one add-on = one package;
    a main IPTV product grants its base package)."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="channel_packages")
    package = models.ForeignKey(ChannelPackage, on_delete=models.PROTECT, related_name="products")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "package"], name="product_package_unique")]

    def __str__(self) -> str:
        return f"{self.product_id} grants {self.package_id}"


class PpvEvent(models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="ppv_events")
    external_id = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    content_owner = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=CatalogItemStatus.choices, default=CatalogItemStatus.ACTIVE)
    # "platform": imported (a catalog import retires it when the platform drops it); "operator":
    # created in tripleplay, which an import leaves alone unless the platform lists the same id.
    origin = models.CharField(max_length=8, default="platform")
    first_seen_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["platform__code", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "external_id"], name="ppv_event_unique_per_platform"),
            models.CheckConstraint(condition=Q(price_minor__gte=0), name="ppv_event_price_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.title} [{self.platform.code}:{self.external_id}]"


class ProvisioningStatus(models.TextChoices):
    OK = "ok"
    IN_PROGRESS = "in_progress"
    RETRY = "retry"
    FAILED = "failed"


class Subscriber(models.Model):
    """One account on one platform: what billing wants, what was last applied, and the queue."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="iptv_subscribers")
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="subscribers")
    external_id = models.CharField(max_length=100)  # tripleplay's key on the platform; never changes
    # Desired (billing's truth, refreshed with every command).
    desired_exists = models.BooleanField(default=True)
    desired_enabled = models.BooleanField(default=True)
    desired_packages = models.JSONField(default=list)
    # login, device_id, full_name, phone as billing has them (see provisioning.DETAIL_FIELDS).
    desired_details = models.JSONField(default=dict)
    # Last state the platform acknowledged (None: unknown, e.g. never provisioned).
    applied_exists = models.BooleanField(null=True)
    applied_enabled = models.BooleanField(null=True)
    applied_packages = models.JSONField(null=True)
    applied_details = models.JSONField(null=True)
    # Queue
    status = models.CharField(max_length=12, choices=ProvisioningStatus.choices, default=ProvisioningStatus.OK)
    status_message = models.CharField(max_length=500, blank=True)
    pending_command = models.ForeignKey("ProvisioningCommand", on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "platform"], name="subscriber_unique_per_platform"),
            models.UniqueConstraint(fields=["platform", "external_id"], name="subscriber_external_id_unique"),
        ]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(pending_command__isnull=False),
                                name="subscriber_due_idx")]

    def __str__(self) -> str:
        return f"{self.external_id}@{self.platform.code}"


class CommandStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    SUPERSEDED = "superseded"  # a newer command for the same subscriber carried on
    FAILED = "failed"
    CANCELLED = "cancelled"


class ProvisioningCommand(models.Model):
    """The outbox: one billing event for one subscriber, with the full desired state it implied.
    Written in the same transaction as the billing change."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="commands")
    event = models.CharField(max_length=64)  # PortaBilling-style: Account/New, Customer/Blocked ...
    desired = models.JSONField()  # {"exists", "enabled", "packages", "login", "device_id", ...}
    status = models.CharField(max_length=12, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    idempotency_key = models.CharField(max_length=64, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(db_index=True)  # every write sets it (D250)
    exchanges = models.JSONField(default=list, blank=True)  # request/response of the last attempt
    actor_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["subscriber", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event} {self.status}"


class GrantStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # stopped: an operator looks (the dead letter of grants)


class PpvGrant(models.Model):
    """The outbox of a PPV event sold by tripleplay itself (the subscriber portal): the platform must be
    told to let the subscriber watch it. Written in the purchase's transaction; delivered by every
    worker (iptv.grants, a WorkerLoop) with retries and backoff. Not a desired-state command: a grant is
    a one-off fact, never superseded by a later state change of the subscriber (docs/ppv.md, D122)."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="ppv_grants")
    event = models.ForeignKey(PpvEvent, on_delete=models.PROTECT, related_name="grants")
    purchase_ref = models.CharField(max_length=100)  # the purchase's transaction id (purchaseId on the wire)
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=8, choices=GrantStatus.choices, default=GrantStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    exchanges = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="ppv_grant_due_idx")]

    def __str__(self) -> str:
        return f"grant {self.event_id} to {self.subscriber_id} {self.status}"
