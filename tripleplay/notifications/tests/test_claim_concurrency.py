"""PostgreSQL: workers claiming at the same time share the queue without overlap (FOR UPDATE SKIP
LOCKED and the `sending` state committed before any call), so no notice is sent twice."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tripleplay.customers.services import change_customer_status
from tripleplay.notifications.delivery import Deliverer
from tripleplay.notifications.models import Notification

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_parallel_claims_are_disjoint(actor, make_customer):
    from tripleplay.notifications.catalogue import DEFAULTS
    from tripleplay.notifications.models import Template

    # An earlier transactional test flushed the tables, the templates the migration seeds with them.
    for (kind, channel, language), (subject, body) in DEFAULTS.items():
        Template.objects.get_or_create(kind=kind, channel=channel, language=language,
                                       defaults={"subject": subject, "body": body})
    for i in range(30):
        c = make_customer(name=f"C{i}", email=f"c{i}@example.com", phone=f"+49151000000{i:02d}")
        change_customer_status(actor, c, "suspended", reason="pause")
    assert Notification.objects.count() == 60
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def worker(name: str):
        try:
            d = Deliverer(name=name, batch_size=20)
            start.wait()
            claimed[name] = [n.pk for n in d.claim()]
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [pk for got in claimed.values() for pk in got]
    assert len(ids) == len(set(ids)) == 60
    assert sorted(Notification.objects.values_list("status", flat=True).distinct()) == ["sending"]
    for name, got in claimed.items():
        assert set(Notification.objects.filter(lease_owner=name).values_list("pk", flat=True)) == set(got)
