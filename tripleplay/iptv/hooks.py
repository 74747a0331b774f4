"""What the IPTV app lets upper layers react to, inside its own transaction (tripleplay.core.hooks).

Registered by (AppConfig.ready()): tripleplay.webhooks.apps. ``PROVISIONING_FAILED.handlers()`` lists them.
"""

from __future__ import annotations

from tripleplay.core.hooks import Hook
from tripleplay.iptv.models import ProvisioningCommand, Subscriber

PROVISIONING_FAILED: Hook[[Subscriber, ProvisioningCommand, str]] = Hook(
    "iptv.provisioning_failed",
    doc="A provisioning command stopped as FAILED (a permanent error, or retries exhausted), with the error, "
        "in the worker's finishing transaction: webhooks writes the provisioning.failed event.",
)
