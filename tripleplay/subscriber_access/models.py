"""A subscriber's way into the self-care portal (/my/, tripleplay.selfcare): one login per customer,
the single-use links that set its password, its sessions and the failed attempts that throttle it.

Secrets are stored only as SHA-256 digests (tokens and session keys are 256-bit random values, so a
fast digest is enough); the password with Django's password hasher. Every row carries the customer
id (docs/architecture.md, "Scale beyond one machine")."""

from django.db import models
from django.db.models import Q

from tripleplay.customers.models import Customer


class LoginStatus(models.TextChoices):
    INVITED = "invited"  # a link was sent, no password yet
    ACTIVE = "active"  # a password is set: the subscriber may log in
    DISABLED = "disabled"  # the operator closed the door: no login, no link works


class SubscriberLogin(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="subscriber_login")
    password = models.CharField(max_length=128, blank=True)  # Django's hasher format; "" until set
    status = models.CharField(max_length=8, choices=LoginStatus.choices, default=LoginStatus.INVITED)
    language = models.CharField(max_length=8, blank=True)  # the subscriber's choice; "" = the browser's
    created_at = models.DateTimeField()
    invited_at = models.DateTimeField(null=True, blank=True)
    password_set_at = models.DateTimeField(null=True, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(status="active") | ~Q(password=""),
                                   name="subscriber_login_active_has_password"),
        ]

    def __str__(self) -> str:
        return f"portal login of customer #{self.customer_id} ({self.status})"


class TokenPurpose(models.TextChoices):
    INVITE = "invite"
    RESET = "reset"


class PasswordToken(models.Model):
    """A link that sets the password once, before it expires."""

    login = models.ForeignKey(SubscriberLogin, on_delete=models.CASCADE, related_name="tokens")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=8, choices=TokenPurpose.choices)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)  # also set when a newer link or a disable revokes it

    def __str__(self) -> str:
        return f"{self.purpose} link of customer #{self.customer_id}"


class PortalSession(models.Model):
    login = models.ForeignKey(SubscriberLogin, on_delete=models.CASCADE, related_name="sessions")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    expires_at = models.DateTimeField()  # absolute end, whatever the activity
    ended_at = models.DateTimeField(null=True, blank=True)
    address = models.CharField(max_length=45, blank=True)

    class Meta:
        indexes = [models.Index(fields=["login", "ended_at"])]

    def __str__(self) -> str:
        return f"portal session of customer #{self.customer_id}"


class LoginFailure(models.Model):
    """One refused login attempt; throttling counts them per identity and per client address."""

    identity = models.CharField(max_length=254)  # as typed, lower-cased
    address = models.CharField(max_length=45)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["identity", "at"]), models.Index(fields=["address", "at"])]

    def __str__(self) -> str:
        return f"failed login {self.identity!r} from {self.address} at {self.at:%Y-%m-%d %H:%M:%S}"
