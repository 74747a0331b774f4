"""A set-top-box swap from the customer page: the account's identifiers change in billing, one
provisioning command carries them, and the simulated platform ends up with the new MAC and login."""

from __future__ import annotations

from tripleplay.iptv.models import ProvisioningCommand
from tripleplay.iptv.tests.conftest import drain


def test_a_new_device_from_the_customer_page_reaches_the_platform(world, login, ministra):
    client = login("finance")
    sid = world.subscriber.external_id
    r = client.post(f"/accounts/{world.account.pk}/update", {"login": "ada-2", "device_id": "00:1A:79:DD:EE:FF",
                                                              "phone_number": ""}, follow=True)
    assert f"Account {world.account.pk} updated (device_id, login)" in r.content.decode()
    world.account.refresh_from_db()
    assert (world.account.login, world.account.device_id) == ("ada-2", "00:1A:79:DD:EE:FF")
    assert ProvisioningCommand.objects.filter(subscriber=world.subscriber).latest("id").event == "Account/Updated"
    drain()
    on_platform = ministra.subscribers()[sid]
    assert (on_platform["login"], on_platform["stb_mac"], on_platform["enabled"]) == ("ada-2", "00:1A:79:DD:EE:FF", True)

    # Saving the same values changes nothing and queues nothing.
    before = ProvisioningCommand.objects.count()
    r = client.post(f"/accounts/{world.account.pk}/update", {"login": "ada-2", "device_id": "00:1A:79:DD:EE:FF"},
                    follow=True)
    assert "nothing changed" in r.content.decode()
    assert ProvisioningCommand.objects.count() == before
