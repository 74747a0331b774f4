"""Internet access (RADIUS): the NAS clients FreeRADIUS accepts, the internet attributes of catalog
products, the accounts' internet passwords, the network sessions the NAS reports through accounting,
and the outbox of Disconnect-Requests to the NAS (docs/radius.md).

Usernames are the accounts' ``login``s. Every customer-owned row carries the customer id.
"""

from django.db import models
from django.db.models import Q

from tripleplay.catalog.models import Product
from tripleplay.customers.models import Account, Customer


class Vendor(models.TextChoices):
    """The BRAS dictionary the reply attributes are written in (radius.attributes)."""

    MIKROTIK = "mikrotik", "MikroTik RouterOS"
    HUAWEI = "huawei", "Huawei ME60 / NE40E BRAS"


class NasClient(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    # The source address of its RADIUS packets: FreeRADIUS asks tripleplay for the client by it.
    address = models.GenericIPAddressField(unique=True)
    secret_encrypted = models.TextField()  # Fernet token (iptv.secrets), never returned by the API
    vendor = models.CharField(max_length=16, choices=Vendor.choices)
    coa_port = models.PositiveIntegerField(default=3799)  # RFC 5176's port for CoA and Disconnect
    timeout_seconds = models.DecimalField(max_digits=5, decimal_places=2, default=3)
    enabled = models.BooleanField(default=True)
    # Where the reconciliation reads the NAS's own list of sessions (radius.session_sources, D129):
    # "" = not reconciled; "sim+http://HOST:PORT" = the NAS simulator's status endpoint.
    session_source = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(coa_port__gte=1, coa_port__lte=65535),
                                              name="radius_nas_coa_port_range")]

    def __str__(self) -> str:
        return f"{self.name} ({self.address}, {self.vendor})"


class InternetService(models.Model):
    """What a product gives an internet login: sent as reply attributes on Access-Accept."""

    product = models.OneToOneField(Product, on_delete=models.PROTECT, related_name="internet_service")
    download_kbps = models.PositiveIntegerField()
    upload_kbps = models.PositiveIntegerField()
    address_pool = models.CharField(max_length=64, blank=True)
    session_timeout_seconds = models.PositiveIntegerField(default=0)  # 0: none sent
    idle_timeout_seconds = models.PositiveIntegerField(default=0)  # 0: none sent
    interim_interval_seconds = models.PositiveIntegerField(default=300)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(download_kbps__gte=1, upload_kbps__gte=1), name="radius_service_rates"),
            models.CheckConstraint(condition=Q(interim_interval_seconds__gte=60) | Q(interim_interval_seconds=0),
                                   name="radius_service_interim_min"),
        ]

    def __str__(self) -> str:
        return f"{self.product.code}: {self.download_kbps}/{self.upload_kbps} kbit/s"


class InternetLogin(models.Model):
    """An account's internet password, encrypted (reversible: FreeRADIUS checks PAP, CHAP and
    MS-CHAP against the cleartext it gets from tripleplay; D76)."""

    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="internet_login")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    password_encrypted = models.TextField()
    # The same password one-way (radius.passwords.ssha512), for FreeRADIUS's pap on the SQL path
    # (D270); "" (a row written before it existed and not yet filled): the rest path answers.
    password_ssha512 = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_auth_at = models.DateTimeField(null=True, blank=True)
    last_nas = models.ForeignKey(NasClient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"internet login of account {self.account_id}"


class ReplyAttribute(models.Model):
    """One reply attribute of a product's internet service in one vendor's dictionary: what
    radius.attributes.reply_attributes answers, materialised for the database function FreeRADIUS's
    rlm_sql calls (D271). Written by radius.services whenever the internet service is set, for every
    vendor (a NAS's vendor is read at request time, so a NAS change writes nothing here)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    vendor = models.CharField(max_length=16, choices=Vendor.choices)
    position = models.PositiveSmallIntegerField()  # the order reply_attributes gives
    attribute = models.CharField(max_length=64)
    value = models.CharField(max_length=253)

    class Meta:
        ordering = ["product", "vendor", "position"]
        constraints = [models.UniqueConstraint(fields=["product", "vendor", "position"],
                                               name="radius_reply_attribute_position")]

    def __str__(self) -> str:
        return f"{self.product_id}/{self.vendor}: {self.attribute} := {self.value}"


class SessionStatus(models.TextChoices):
    ACTIVE = "active"
    STOPPED = "stopped"


class NetworkSession(models.Model):
    """One session as the NAS reports it (RFC 2866): counters are cumulative, never summed."""

    nas = models.ForeignKey(NasClient, on_delete=models.PROTECT, related_name="sessions")
    acct_session_id = models.CharField(max_length=64)
    username = models.CharField(max_length=253)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    framed_ip = models.GenericIPAddressField(null=True, blank=True)
    input_octets = models.BigIntegerField(default=0)  # from the subscriber (upload), gigawords included
    output_octets = models.BigIntegerField(default=0)  # to the subscriber (download)
    session_time_seconds = models.BigIntegerField(default=0)
    status = models.CharField(max_length=8, choices=SessionStatus.choices, default=SessionStatus.ACTIVE)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    terminate_cause = models.CharField(max_length=64, blank=True)
    interim_updates = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["nas", "acct_session_id"], name="radius_session_per_nas")]
        indexes = [models.Index(fields=["customer", "status"], name="radius_session_customer"),
                   models.Index(fields=["nas", "status"], name="radius_session_nas")]

    def __str__(self) -> str:
        return f"{self.username}@{self.nas.name} [{self.acct_session_id}]"


class CommandKind(models.TextChoices):
    DISCONNECT = "disconnect"  # RFC 5176 Disconnect-Request: end the session
    COA = "coa"  # RFC 5176 CoA-Request: apply ``attributes`` (the new rate) to the session


class CommandStatus(models.TextChoices):
    PENDING = "pending"  # due at next_attempt_at (a retry waits there too)
    DONE = "done"
    FAILED = "failed"  # the dead letter: an operator retries or cancels it
    CANCELLED = "cancelled"


class NasCommand(models.Model):
    """The outbox: a Disconnect-Request or a CoA-Request owed to the NAS holding ``session``, written in
    the billing change's transaction and sent by the worker (radius.coa)."""

    session = models.ForeignKey(NetworkSession, on_delete=models.PROTECT, related_name="commands")
    nas = models.ForeignKey(NasClient, on_delete=models.PROTECT, related_name="commands")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=16, choices=CommandKind.choices, default=CommandKind.DISCONNECT)
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response = models.JSONField(default=dict, blank=True)
    # A CoA's authorization attributes (vendor dictionary names -> value), the desired state when
    # written; a newer change rewrites the pending command's (D127).
    attributes = models.JSONField(default=dict, blank=True)
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(db_index=True)  # every write sets it (D250)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["session", "kind"], condition=Q(status="pending"),
                                               name="radius_one_pending_command_per_session")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="radius_command_due")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
