from __future__ import annotations

import socket

import pytest

# This engineer's port range (the simulator binds 127.0.0.1 only).
PORTS = range(20100, 20200)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20100-20199")


@pytest.fixture
def twilio(settings):
    """The Twilio simulator as a separate process, and the settings pointing the adapter at it."""
    from tripleplay.simulators.testing import running_twilio

    with running_twilio(port=0) as sim:  # the simulator takes a free port and announces it
        settings.TRIPLEPLAY_TWILIO_API_BASE = sim.url
        settings.TRIPLEPLAY_TWILIO_ACCOUNT_SID = sim.account_sid
        settings.TRIPLEPLAY_TWILIO_AUTH_TOKEN = sim.auth_token
        settings.TRIPLEPLAY_TWILIO_FROM = "+15005550006"
        settings.TRIPLEPLAY_SMS_TIMEOUT_SECONDS = 2.0
        yield sim


@pytest.fixture
def templates(db):
    """The shipped templates: an earlier transactional test flushed the tables, the rows the migrations
    seeded with them."""
    from tripleplay.notifications.catalogue import DEFAULTS
    from tripleplay.notifications.models import Template

    for (kind, channel, language), (subject, body) in DEFAULTS.items():
        Template.objects.get_or_create(kind=kind, channel=channel, language=language,
                                       defaults={"subject": subject, "body": body})
