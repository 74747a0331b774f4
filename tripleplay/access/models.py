from django.conf import settings
from django.db import models

from tripleplay.core.actors import Role


class OperatorProfile(models.Model):
    """An operator's role. Django superusers are admins whatever their profile says."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator")
    role = models.CharField(max_length=16, choices=[(r.value, r.value) for r in Role])

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class ApiClient(models.Model):
    """A machine client of the REST API, created by an admin. The token is shown once at creation;
    only its SHA-256 is stored (tokens are 256-bit random, so a plain hash is not guessable) and the
    first characters are kept as a lookup prefix."""

    name = models.CharField(max_length=100, unique=True)
    role = models.CharField(max_length=16, choices=[(r.value, r.value) for r in Role])
    token_prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"
