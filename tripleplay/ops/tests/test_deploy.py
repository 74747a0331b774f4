"""The deployment kit in deploy/ (docs/operations.md) is checked by the tools that will run it:
`systemd-analyze verify` for the units and `nginx -t` for the site, with a throw-away certificate; the
nginx routes follow the code's real-time paths; production settings pass `check --deploy`; secrets
can come from files. Without systemd-analyze or nginx these tests skip, unless
TRIPLEPLAY_REQUIRE_DEPLOY_TOOLS=1 (as in .ci/run, where scripts/test.sh installs nginx): then they fail."""

from __future__ import annotations

import datetime
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tripleplay.api import ppv_wsgi
from tripleplay.ppv import xmlproto
from tripleplay.settings import env_secret

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
UNITS = sorted([*DEPLOY.glob("systemd/*.service"), *DEPLOY.glob("systemd/*.target")])
SITE = DEPLOY / "nginx" / "tripleplay.conf"


def tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        if os.environ.get("TRIPLEPLAY_REQUIRE_DEPLOY_TOOLS") == "1":
            pytest.fail(f"{name} is required (TRIPLEPLAY_REQUIRE_DEPLOY_TOOLS=1) and not installed")
        pytest.skip(f"{name} is not installed")
    return path


def test_the_kit_has_every_unit_the_operations_guide_names():
    assert [u.name for u in UNITS] == ["tripleplay-jobs.service", "tripleplay-migrate.service",
                                       "tripleplay-realtime.service", "tripleplay-web.service",
                                       "tripleplay-worker@.service", "tripleplay.target"]


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = tool("systemd-analyze")
    # The units name /opt/tripleplay/venv; verify checks that ExecStart= exists, so point it at this venv.
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/tripleplay/venv", sys.prefix))
    done = subprocess.run([analyze, "verify", "--man=no", *[u.name for u in UNITS]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    ours = [line for line in (done.stdout + done.stderr).splitlines()
            if str(tmp_path) in line or any(line.startswith(u.name) for u in UNITS)]
    assert (done.returncode, ours) == (0, [])


def test_the_units_run_tripleplay_commands_that_exist():
    from tripleplay.cli import main  # noqa: F401 - the command list is the CLI's

    done = subprocess.run([sys.executable, "-m", "tripleplay.cli", "--help"], capture_output=True, text=True, timeout=60)
    commands = set(re.findall(r"^  (\S+)", done.stdout, re.M))
    used = {re.search(r"/bin/tripleplay (\S+)", line).group(1)
            for unit in UNITS for line in unit.read_text().splitlines() if line.startswith("ExecStart=")}
    assert used == {"migrate", "serve", "worker"} and used <= commands


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "billing.example.net")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_the_nginx_site_passes_nginx_t(tmp_path):
    nginx = tool("nginx")
    cert, key = self_signed(tmp_path)
    site = (SITE.read_text().replace("/etc/ssl/certs/billing.example.net.pem", str(cert))
            .replace("/etc/ssl/private/billing.example.net.key", str(key)))
    (tmp_path / "site.conf").write_text(site)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f" {kind}_temp_path {tmp_path}/{kind};" for kind in kinds)
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                                         f"http {{\n access_log off;\n{temp}\n include {tmp_path}/site.conf;\n}}\n")
    done = subprocess.run([nginx, "-t", "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c",
                           str(tmp_path / "nginx.conf")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def locations(site: str) -> list[tuple[str, str, str]]:
    """(modifier, pattern, upstream) of each location block of the HTTPS server."""
    found = []
    for m in re.finditer(r"location\s+(=|~)?\s*(\S+)\s*\{(.*?)\}", site, re.S):
        upstream = re.search(r"proxy_pass http://(\w+);", m.group(3))
        found.append((m.group(1) or "", m.group(2), upstream.group(1) if upstream else ""))
    return found


def route(site: str, path: str) -> str:
    """The upstream nginx picks for ``path``: exact match, then the first matching regex, then the longest prefix."""
    blocks = locations(site)
    for modifier, pattern, upstream in blocks:
        if modifier == "=" and pattern == path:
            return upstream
    for modifier, pattern, upstream in blocks:
        if modifier == "~" and re.search(pattern, path):
            return upstream
    prefixes = [(len(p), u) for m, p, u in blocks if m == "" and path.startswith(p) and u]
    return max(prefixes)[1]


def test_nginx_sends_exactly_the_real_time_calls_to_granian():
    site = SITE.read_text()
    realtime = [*ppv_wsgi.JSON_CALLS, xmlproto.ENDPOINT_PATH]
    assert {path: route(site, path) for path in realtime} == {path: "tripleplay_realtime" for path in realtime}
    for other in ("/", "/api/v1/customers", "/api/v1/ppv/events", "/xml/v1/catalog", "/admin/", "/healthz", "/my/"):
        assert route(site, other) == "tripleplay_web", other
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site  # set by nginx, never a client's


def run_check_deploy(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TRIPLEPLAY_", "DATABASE_URL"))}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
                          env={**base, "TRIPLEPLAY_HOME": str(tmp_path), **env}, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_production_settings_pass_check_deploy_and_the_default_ones_do_not(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(50) + "\n")
    production = run_check_deploy(tmp_path, TRIPLEPLAY_HTTPS="1", TRIPLEPLAY_SECRET_KEY_FILE=str(key_file),
                                  TRIPLEPLAY_ALLOWED_HOSTS="billing.example.net")
    assert production.returncode == 0, production.stdout + production.stderr
    assert "no issues" in production.stdout
    plain = run_check_deploy(tmp_path, TRIPLEPLAY_SECRET_KEY_FILE=str(key_file))
    assert plain.returncode == 1
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= set(
        re.findall(r"\((security\.W\d+)\)", plain.stdout + plain.stderr))


def test_a_secret_comes_from_its_variable_or_from_the_file_its_FILE_variable_names(tmp_path, monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.delenv("TP_TEST_SECRET", raising=False)
    monkeypatch.delenv("TP_TEST_SECRET_FILE", raising=False)
    assert env_secret("TP_TEST_SECRET", "fallback") == "fallback"
    monkeypatch.setenv("TP_TEST_SECRET", "from-env")
    assert env_secret("TP_TEST_SECRET") == "from-env"
    path = tmp_path / "s"
    path.write_text("from file\n")
    monkeypatch.setenv("TP_TEST_SECRET_FILE", str(path))
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env_secret("TP_TEST_SECRET")
    monkeypatch.delenv("TP_TEST_SECRET")
    assert env_secret("TP_TEST_SECRET") == "from file"
    monkeypatch.setenv("TP_TEST_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        env_secret("TP_TEST_SECRET")


def test_platform_credentials_key_from_a_file(tmp_path, monkeypatch, settings):
    from cryptography.fernet import Fernet

    from tripleplay.iptv import secrets as platform_secrets

    key = Fernet.generate_key()
    (tmp_path / "k").write_bytes(key + b"\n")
    monkeypatch.delenv("TRIPLEPLAY_CREDENTIALS_KEY", raising=False)
    monkeypatch.setenv("TRIPLEPLAY_CREDENTIALS_KEY_FILE", str(tmp_path / "k"))
    token = platform_secrets.encrypt("s3cret")
    assert Fernet(key).decrypt(token.encode()) == b"s3cret"
    assert platform_secrets.decrypt(token) == "s3cret"


FREERADIUS = DEPLOY / "freeradius"
DEBIAN_FREERADIUS_UNIT = Path("/lib/systemd/system/freeradius.service")


def test_debians_freeradius_unit_with_the_drop_in_passes_systemd_analyze_verify(tmp_path):
    """The drop-in is checked on Debian's own unit (package freeradius), with the tripleplay units it
    orders itself after; the realtime service's drop-in with them."""
    analyze = tool("systemd-analyze")
    if not DEBIAN_FREERADIUS_UNIT.exists():
        if os.environ.get("TRIPLEPLAY_REQUIRE_DEPLOY_TOOLS") == "1":
            pytest.fail(f"{DEBIAN_FREERADIUS_UNIT} is required (TRIPLEPLAY_REQUIRE_DEPLOY_TOOLS=1): "
                        "apt-get install freeradius")
        pytest.skip("Debian's freeradius package is not installed")
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/tripleplay/venv", sys.prefix))
    (tmp_path / "freeradius.service").write_text(DEBIAN_FREERADIUS_UNIT.read_text())
    for dropin in FREERADIUS.glob("*.service.d/*.conf"):
        target = tmp_path / dropin.parent.name / dropin.name
        target.parent.mkdir()
        target.write_text(dropin.read_text())
    logins = FREERADIUS / "tripleplay-radius-logins.service"  # the SQL path's logins reader (D290)
    (tmp_path / logins.name).write_text(logins.read_text().replace("/opt/tripleplay/venv", sys.prefix))
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"}
    done = subprocess.run([analyze, "verify", "--man=no", "freeradius.service", "tripleplay-realtime.service",
                           logins.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    ours = [line for line in (done.stdout + done.stderr).splitlines()
            if str(tmp_path) in line or line.startswith(("freeradius", "tripleplay"))]
    # Debian's own unit names MemoryLimit= (deprecated for MemoryMax=): systemd's warning is about the package.
    ours = [line for line in ours if "MemoryLimit=" not in line]
    assert (done.returncode, ours) == (0, [])
    dropin = (FREERADIUS / "freeradius.service.d" / "tripleplay.conf").read_text()
    assert "After=tripleplay-realtime.service" in dropin and "RuntimeDirectoryPreserve=yes" in dropin
    # The SQL path's own role (D301), never tripleplay's login.
    assert "-m tripleplay.radius.logins /run/freeradius/logins --database-url-file %d/radius_sql_url" in (
        logins.read_text())
    assert "LoadCredential=radius_sql_url:/etc/tripleplay/credentials/radius_sql_url" in logins.read_text()
    for line in ("ExecStart=\n", "ExecStart=/usr/sbin/freeradius -f -d /etc/freeradius/tripleplay\n",
                 "ExecStartPre=/usr/sbin/freeradius -d /etc/freeradius/tripleplay -Cx -lstdout\n"):
        assert line in dropin


def test_the_production_freeradius_configuration_passes_freeradius_xc(tmp_path):
    """Rendered with the options deploy/freeradius/README.md gives (granian on loopback, every address,
    a NAS network), `freeradius -XC` accepts it."""
    from django.core.management import call_command

    freeradius = tool("freeradius")
    readme = (FREERADIUS / "README.md").read_text()
    assert "--url http://127.0.0.1:8001 --listen 0.0.0.0 --client-network 10.0.0.0/8" in readme
    call_command("radius-config", out=str(tmp_path / "fr"), url="http://127.0.0.1:8001", token="t0ken-for-deploy",
                 listen="0.0.0.0", client_network="10.0.0.0/8", threads=16, run_dir=str(tmp_path / "run"),
                 stdout=open(os.devnull, "w"))
    done = subprocess.run([freeradius, "-XC", "-d", str(tmp_path / "fr")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "Configuration appears to be OK" in done.stdout


def test_nginx_refuses_freeradius_calls_from_outside():
    site = SITE.read_text()
    assert re.search(r"location /aaa/ \{\s*return 404;\s*\}", site)
