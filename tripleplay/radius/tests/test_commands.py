"""`tripleplay radius-config` and the demo's internet side (configuration only; the processes are
exercised by test_freeradius.py)."""

from __future__ import annotations

import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tripleplay.radius import server


def test_radius_config_writes_a_configuration_freeradius_accepts(tmp_path, monkeypatch):
    monkeypatch.delenv("TRIPLEPLAY_RADIUS_TOKEN", raising=False)
    with pytest.raises(CommandError, match="no token"):
        call_command("radius-config", out=str(tmp_path / "x"), url="http://127.0.0.1:8000")
    out = StringIO()
    call_command("radius-config", out=str(tmp_path / "fr"), url="http://127.0.0.1:8000/", token="t0ken-value",
                 auth_port=21812, acct_port=21813, threads=12, stdout=out)
    assert f"freeradius -f -d {tmp_path / 'fr'}" in out.getvalue()
    rest = (tmp_path / "fr" / "mods" / "rest").read_text()
    assert 'connect_uri = "http://127.0.0.1:8000/aaa/v1/radius"' in rest and "password = 't0ken-value'" in rest
    assert "max = 12" in rest and "@" not in rest.replace("%{", "")
    site = (tmp_path / "fr" / "sites" / "tripleplay").read_text()
    assert "port = 21812" in site and "port = 21813" in site
    with pytest.raises(CommandError, match="quotes"):
        call_command("radius-config", out=str(tmp_path / "y"), url="http://x", token="bad'token")
    if server.installed():
        check = subprocess.run(["freeradius", "-C", "-d", str(tmp_path / "fr")], capture_output=True, text=True,
                               timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.django_db
def test_the_demo_gives_its_internet_subscribers_a_service_a_nas_and_a_password():
    from tripleplay import demo, demo_radius
    from tripleplay.core.actors import Actor
    from tripleplay.iptv import secrets
    from tripleplay.radius.models import InternetLogin, InternetService, NasClient

    actor = Actor.system("demo")
    demo.seed(actor)
    assert demo_radius.configure(actor, coa_port=3799) == ["carla.home", "dmitri.net"]
    assert demo_radius.configure(actor, coa_port=4000) == ["carla.home", "dmitri.net"]  # again: kept
    assert sorted(InternetService.objects.values_list("product__code", "download_kbps")) == [
        ("internet-100", 100_000), ("triple-play", 300_000)]
    nas = NasClient.objects.get()
    assert (nas.name, nas.address, nas.vendor, nas.coa_port) == ("demo-nas", "127.0.0.1", "mikrotik", 4000)
    assert {secrets.decrypt(login.password_encrypted) for login in InternetLogin.objects.all()} == {"demo-internet"}
