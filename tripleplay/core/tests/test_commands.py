"""The `tripleplay` command and its management commands: createadmin, create-api-client,
expire-holds, demo (and its seed data), serve (its key check, and one real server in a subprocess)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.http import HttpRequest

from tripleplay import cli, clock, demo
from tripleplay.access.models import ApiClient
from tripleplay.access.selectors import api_client_for_token, role_of_user
from tripleplay.catalog.models import Product, SubscriptionPlan
from tripleplay.core.actors import Actor, Role
from tripleplay.core.testing import free_port, home_env, stop_serve
from tripleplay.customers.models import Account, Customer
from tripleplay.customers.services import create_customer
from tripleplay.ledger.models import Funds, Hold, HoldStatus, LedgerEntry
from tripleplay.ledger.services import place_hold, record_payment
from tripleplay.money import Money


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # PBKDF2 costs ~0.3 s a login


def run(name: str, *args, **options) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, **options)
    return out.getvalue()


# -- the tripleplay command ----------------------------------------------------------------------


def test_help_lists_tripleplay_commands_not_djangos(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for name in ("serve", "migrate", "createadmin", "create-api-client", "demo", "expire-holds"):
        assert f"\n  {name} " in text
    for django_only in ("runserver", "makemigrations", "flush"):
        assert f"\n  {django_only} " not in text


def test_no_arguments_prints_the_help(capsys):
    assert cli.main([]) == 0
    assert "usage: tripleplay COMMAND" in capsys.readouterr().out


def test_unknown_command_fails_with_a_message(capsys):
    assert cli.main(["serv"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'serv'" in err and "Did you mean 'serve'?" in err


@pytest.mark.parametrize("name", ["serve", "migrate", "createadmin", "create-api-client", "demo", "expire-holds"])
def test_every_command_answers_help(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([name, "--help"])
    assert exit_.value.code == 0
    assert f"usage: tripleplay {name}" in capsys.readouterr().out


def test_usage_error_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["create-api-client", "bot", "--role", "owner"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# -- createadmin ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_createadmin_creates_an_admin_whose_password_works():
    out = run("createadmin", username="boss", password="correct-horse", email="boss@example.com")
    assert "Created admin operator 'boss'" in out
    user = get_user_model().objects.get(username="boss")
    assert role_of_user(user) == Role.ADMIN
    assert user.is_staff and user.email == "boss@example.com"
    assert authenticate(HttpRequest(), username="boss", password="correct-horse") == user


@pytest.mark.django_db
def test_createadmin_again_updates_the_password(monkeypatch):
    run("createadmin", username="boss", password="first-password")
    monkeypatch.setenv("TRIPLEPLAY_ADMIN_PASSWORD", "second-password")
    assert "Updated admin operator 'boss'" in run("createadmin", username="boss")
    assert get_user_model().objects.filter(username="boss").count() == 1
    assert authenticate(HttpRequest(), username="boss", password="first-password") is None
    assert authenticate(HttpRequest(), username="boss", password="second-password") is not None


@pytest.mark.django_db
def test_createadmin_needs_a_good_password(monkeypatch):
    monkeypatch.delenv("TRIPLEPLAY_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="TRIPLEPLAY_ADMIN_PASSWORD"):
        run("createadmin", username="boss")
    with pytest.raises(CommandError, match="at least 8"):
        run("createadmin", username="boss", password="short")
    assert not get_user_model().objects.filter(username="boss").exists()


# -- create-api-client ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_api_client_prints_a_token_that_authenticates():
    out = run("create-api-client", "billing-bot", role="finance")
    token = out.strip().splitlines()[-1]
    client = api_client_for_token(token)
    assert client is not None and client.name == "billing-bot" and client.role == Role.FINANCE
    assert token not in client.token_hash  # only the hash is kept


@pytest.mark.django_db
def test_create_api_client_quiet_prints_only_the_token():
    token = run("create-api-client", "ci", role="support", quiet=True).strip()
    assert api_client_for_token(token).role == Role.SUPPORT


@pytest.mark.django_db
def test_create_api_client_refuses_a_duplicate_name():
    run("create-api-client", "ci", role="admin")
    with pytest.raises(CommandError, match="exists"):
        run("create-api-client", "ci", role="admin")
    assert ApiClient.objects.count() == 1


# -- expire-holds --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_expire_holds_releases_only_expired_holds_and_says_how_many():
    actor = Actor.system("test")
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with clock.frozen(start):
        customer = create_customer(actor, name="Ppv Buyer", currency="USD", balance_model="prepaid")
        record_payment(actor, customer, Money(5000, "USD"), idempotency_key="pay-1")
        place_hold(actor, customer, Money(1000, "USD"), idempotency_key="hold-short",
                   expires_at=start + timedelta(minutes=10))
        place_hold(actor, customer, Money(500, "USD"), idempotency_key="hold-long",
                   expires_at=start + timedelta(hours=2))
        assert "Released 0 expired hold(s)." in run("expire-holds")

    with clock.frozen(start + timedelta(minutes=30)):
        assert "Released 1 expired hold(s)." in run("expire-holds")
        assert "Released 0 expired hold(s)." in run("expire-holds")  # idempotent
    assert Hold.objects.get(idempotency_key="hold-short").status == HoldStatus.EXPIRED
    assert Hold.objects.get(idempotency_key="hold-long").status == HoldStatus.ACTIVE
    assert Funds.objects.get(customer=customer).held_minor == 500


@pytest.mark.django_db
def test_expire_holds_works_through_every_batch():
    actor = Actor.system("test")
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with clock.frozen(start):
        customer = create_customer(actor, name="Ppv Buyer", currency="USD", balance_model="prepaid")
        record_payment(actor, customer, Money(5000, "USD"), idempotency_key="pay-1")
        for i in range(5):
            place_hold(actor, customer, Money(100, "USD"), idempotency_key=f"hold-{i}",
                       expires_at=start + timedelta(minutes=1))
    with clock.frozen(start + timedelta(minutes=5)):
        assert "Released 5 expired hold(s)." in run("expire-holds", batch_size=2)
    assert Funds.objects.get(customer=customer).held_minor == 0


# -- demo data -----------------------------------------------------------------------------------

EXPECTED_BALANCES = {  # minor units (USD cents), from the payments, credit and debit of the seed
    "Alice Martin": 5000,
    "Bob Chen": 10000,
    "Carla Diaz": 6999 + 1000,
    "Dmitri Ivanov": 500,
    "Emma Schultz": -2500,
}
EXPECTED_STATUSES = {"Alice Martin": "active", "Bob Chen": "active", "Carla Diaz": "active",
                     "Dmitri Ivanov": "suspended", "Emma Schultz": "blocked"}


def demo_snapshot() -> dict:
    return {
        "customers": Customer.objects.count(),
        "products": Product.objects.count(),
        "plans": SubscriptionPlan.objects.count(),
        "accounts": Account.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "balances": {f.customer.name: f.balance_minor for f in Funds.objects.select_related("customer")},
        "statuses": dict(Customer.objects.values_list("name", "status")),
    }


@pytest.mark.django_db
def test_seeding_the_demo_twice_gives_the_same_data():
    first = demo.seed()
    assert first.created and (first.products, first.customers, first.accounts) == (9, 5, 6)
    after_first = demo_snapshot()
    assert after_first == {
        "customers": 5, "products": 9, "plans": 9, "accounts": 6, "entries": 6,
        "balances": EXPECTED_BALANCES, "statuses": EXPECTED_STATUSES,
    }
    assert not demo.seed().created
    assert demo_snapshot() == after_first


@pytest.mark.django_db
def test_demo_balances_are_the_sum_of_their_entries():
    demo.seed()
    for funds in Funds.objects.all():
        total = LedgerEntry.objects.filter(customer_id=funds.customer_id).aggregate(s=Sum("amount_minor"))["s"] or 0
        assert funds.balance_minor == total


@pytest.mark.django_db
def test_demo_catalog_and_accounts():
    demo.seed()
    main = set(Product.objects.filter(kind="main").values_list("code", flat=True))
    addons = set(Product.objects.filter(kind="addon").values_list("code", flat=True))
    assert {"tv-basic", "tv-premium", "internet-100", "voice-line"} <= main
    assert {"sports-pack", "movies-pack", "kids-pack"} <= addons
    assert SubscriptionPlan.objects.get(code="triple-play-monthly").alignment == "billing_period"
    assert set(Customer.objects.values_list("balance_model", flat=True)) == {"prepaid", "postpaid"}
    iptv = Account.objects.get(login="alice.tv")
    assert iptv.device_id and iptv.products.filter(product__code="kids-pack").exists()
    assert Account.objects.filter(phone_number__isnull=False).count() == 3
    assert all(p.currency == "USD" for p in Product.objects.all())


@pytest.mark.django_db
def test_demo_operators_have_their_roles_and_the_demo_password():
    demo.ensure_operators()
    demo.ensure_operators()
    for username, role in (("admin", Role.ADMIN), ("finance", Role.FINANCE), ("support", Role.SUPPORT)):
        user = authenticate(HttpRequest(), username=username, password=demo.DEMO_PASSWORD)
        assert user is not None and role_of_user(user) == role
    assert get_user_model().objects.count() == 3


@pytest.mark.django_db
def test_demo_subscriber_logs_in_to_the_portal_with_the_demo_password():
    from tripleplay.subscriber_access.services import log_in

    demo.seed()
    assert demo.ensure_subscriber_login() == ("alice.martin@example.com", demo.DEMO_PASSWORD)
    assert demo.ensure_subscriber_login() == ("alice.martin@example.com", demo.DEMO_PASSWORD)  # again: reset, same
    session = log_in("alice.martin@example.com", demo.DEMO_PASSWORD)
    assert session.login.customer.name == "Alice Martin"
    assert set(Product.objects.filter(self_service=True).values_list("code", flat=True)) == {
        "sports-pack", "movies-pack", "kids-pack"}


@pytest.mark.django_db
def test_demo_command_without_serving_prints_urls_logins_and_a_working_token(monkeypatch):
    monkeypatch.setenv("TRIPLEPLAY_DEMO", "")  # so that the command's "1" is undone after the test
    out = run("demo", no_serve=True, no_iptv=True, port=8123)
    for text in ("Operator UI:          http://127.0.0.1:8123/\n", "http://127.0.0.1:8123/admin/",
                 "http://127.0.0.1:8123/api/v1/docs", "http://127.0.0.1:8123/healthz",
                 "tripleplay-demo", "admin", "finance", "support", "curl -H \"Authorization: Bearer tp_"):
        assert text in out
    token = next(w for w in out.split() if w.startswith("tp_"))
    assert api_client_for_token(token).role == Role.ADMIN
    assert os.environ["TRIPLEPLAY_DEMO"] == "1"

    assert ("Subscriber portal:    http://127.0.0.1:8123/my/  (login alice.martin@example.com, password "
            "tripleplay-demo)") in out

    again = run("demo", no_serve=True, no_iptv=True, port=8123)
    assert "already present" in again
    assert Customer.objects.count() == 5 and Account.objects.count() == 6
    assert ApiClient.objects.filter(is_active=True).count() == 2  # a fresh token per run


# -- serve ---------------------------------------------------------------------------------------


@pytest.fixture
def fake_server(monkeypatch):
    """Replace the gunicorn start with a recorder: these tests never open a socket."""
    from tripleplay.ops.management.commands import serve

    calls = []
    monkeypatch.setattr(serve, "run_server", lambda **kwargs: calls.append(kwargs))
    return calls


@pytest.mark.django_db
def test_serve_refuses_the_insecure_default_key(settings, monkeypatch, fake_server):
    settings.SECRET_KEY = settings.INSECURE_DEFAULT_SECRET_KEY
    settings.DEBUG = False
    monkeypatch.delenv("TRIPLEPLAY_DEBUG", raising=False)
    monkeypatch.delenv("TRIPLEPLAY_DEMO", raising=False)
    with pytest.raises(CommandError, match="TRIPLEPLAY_SECRET_KEY"):
        run("serve")
    assert fake_server == []


@pytest.mark.django_db
@pytest.mark.parametrize("variable", ["TRIPLEPLAY_DEBUG", "TRIPLEPLAY_DEMO"])
def test_serve_accepts_the_insecure_key_for_development_and_demo(settings, monkeypatch, fake_server, variable):
    settings.SECRET_KEY = settings.INSECURE_DEFAULT_SECRET_KEY
    monkeypatch.delenv("TRIPLEPLAY_DEBUG", raising=False)
    monkeypatch.delenv("TRIPLEPLAY_DEMO", raising=False)
    monkeypatch.setenv(variable, "1")
    run("serve")
    (call,) = fake_server
    assert (call["host"], call["port"], call["workers"], call["threads"], call["timeout"]) == ("127.0.0.1", 8000, 2, 4, 30)


@pytest.mark.django_db
def test_serve_with_a_real_key_passes_its_options(settings, monkeypatch, fake_server):
    settings.SECRET_KEY = "a-real-secret-" + "x" * 40
    monkeypatch.delenv("TRIPLEPLAY_DEBUG", raising=False)
    monkeypatch.delenv("TRIPLEPLAY_DEMO", raising=False)
    run("serve", host="0.0.0.0", port=9001, workers=3, threads=8, timeout=60)
    (call,) = fake_server
    assert (call["host"], call["port"], call["workers"], call["threads"], call["timeout"]) == ("0.0.0.0", 9001, 3, 8, 60)
    assert (call["server"], call["access_log"]) == ("gunicorn", True)
    fake_server.clear()
    run("serve", server="granian", access_log=False)
    (call,) = fake_server
    assert (call["server"], call["access_log"]) == ("granian", False)


def test_serve_rejects_a_bad_port():
    from tripleplay.ops.management.commands.serve import check_server_options

    with pytest.raises(CommandError, match="--port"):
        check_server_options(port=70000, workers=1, threads=1, timeout=1)


# -- one real server -----------------------------------------------------------------------------


def tripleplay_command() -> list[str]:
    """The installed console script if there is one (what users run), else the same entry point."""
    script = Path(sys.executable).parent / "tripleplay"
    if script.exists():
        return [str(script)]
    found = shutil.which("tripleplay")
    return [found] if found else [sys.executable, "-m", "tripleplay.cli"]


def _start_server(tmp_path, server: str) -> tuple[subprocess.Popen, int, Path]:
    """``tripleplay serve`` (one worker of two threads) on an empty SQLite home, leading a process group of
    its own (``stop_serve`` stops whatever workers it leaves); (process, port, log)."""
    env = home_env(tmp_path / "home")
    command = tripleplay_command()
    migrate = subprocess.run([*command, "migrate", "-v", "0"], env=env, capture_output=True, text=True, timeout=180)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                                    "--threads", "2", "--server", server, "--no-access-log"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0)
    return process, port, log_path


def _healthz_within(process: subprocess.Popen, port: int, log_path: Path, seconds: float) -> dict:
    """/healthz's JSON once it answers 200, failing with the server's log after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                assert response.status == 200
                return json.loads(response.read().decode())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer from /healthz within {seconds:g} s:\n{log_path.read_text()}")


@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_serve_answers_healthz_and_stops_on_sigterm(tmp_path, server):
    process, port, log_path = _start_server(tmp_path, server)
    try:
        assert _healthz_within(process, port, log_path, 30) == {"status": "ok", "database": "sqlite"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log_path.read_text()
    finally:
        stop_serve(process)


@pytest.mark.parametrize("server", ["gunicorn", "granian"])
def test_serve_starts_a_worker_again_when_one_dies(tmp_path, server):
    """A worker killed from outside (the OOM killer, a crash in a C extension) is replaced and the
    server keeps answering; granian's default would be to shut the whole server down."""
    process, port, log_path = _start_server(tmp_path, server)
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    try:
        _healthz_within(process, port, log_path, 30)
        workers = children.read_text().split()
        assert len(workers) == 1, workers
        os.kill(int(workers[0]), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and children.read_text().split() in ([], workers):
            time.sleep(0.2)
        replacement = children.read_text().split()
        assert len(replacement) == 1 and replacement != workers, (replacement, log_path.read_text())
        assert _healthz_within(process, port, log_path, 30) == {"status": "ok", "database": "sqlite"}
        assert process.poll() is None, log_path.read_text()
    finally:
        stop_serve(process)


def free_port_run(count: int) -> int:
    """A base port with ``count`` free consecutive ports on 127.0.0.1, below the kernel's ephemeral range:
    a run inside it (where ``free_port`` draws from) can be taken as a connection's local port by another
    process (the PostgreSQL pass running beside) between this check and the demo's simulators binding it,
    which failed a CI run (EADDRINUSE on base + 1)."""
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768  # Linux's default
    for _ in range(50):
        base = random.randrange(20000, max(ephemeral_low, 20000 + 2 * count) - count)
        try:
            for p in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise RuntimeError("no run of free ports")


def test_demo_from_zero_provisions_its_subscribers_on_the_simulated_platforms(tmp_path):
    """`tripleplay demo --no-serve` on an empty home: seven simulator processes, platforms configured,
    catalogs imported, products linked, the worker drains once; the simulators' saved state holds
    exactly the demo's IPTV subscribers."""
    # Not core.testing.home_env: without TRIPLEPLAY_DEMO, as a user runs it (the demo sets it itself).
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TRIPLEPLAY_SECRET_KEY")}
    home = tmp_path / "home"
    env.update(TRIPLEPLAY_HOME=str(home), DJANGO_SETTINGS_MODULE="tripleplay.settings")
    base = free_port_run(7)
    done = subprocess.run([*tripleplay_command(), "demo", "--no-serve", "--simulator-base-port", str(base)], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"ministra      http://127.0.0.1:{base + 3}" in done.stdout
    saved = {name: json.loads((home / "simulators" / f"{name}.json").read_text())["subscribers"]
             for name in ("ministra", "telebreeze", "generic_xml")}
    assert {k: (v["enabled"], sorted(v["packages"])) for k, v in saved["ministra"].items()} == {
        "tp-1": (True, ["basic", "kids"]), "tp-2": (True, ["basic", "movies", "sports"])}
    assert {k: (v["enabled"], sorted(v["packages"])) for k, v in saved["telebreeze"].items()} == {
        "tp-4": (True, ["basic"])}
    assert saved["generic_xml"] == {}
