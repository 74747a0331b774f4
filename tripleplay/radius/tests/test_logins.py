"""The SQL path's accepted logins recorded in batches from FreeRADIUS's detail file (D290): the file's
entries as rlm_detail writes them, the reader's take-over of the file (FreeRADIUS's rename-and-lock
protocol) and that nothing leaves the file before its batch committed, and the batch function against
the one-at-a-time one. End to end through FreeRADIUS: test_sql_path.py and test_freeradius.py."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from tripleplay.radius import logins
from tripleplay.radius.logins import Login
from tripleplay.radius.models import InternetLogin
from tripleplay.radius.tests.conftest import sql_role

# An entry as FreeRADIUS 3.2's rlm_detail writes it (header "%t", log_packet_header, User-Password
# suppressed), then one whose User-Name needed escapes, then a partial one (a crash mid-write).
DETAIL = (
    "Sun Dec  6 02:17:39 2026\n"
    "\tPacket-Src-IP-Address = 127.0.0.1\n"
    "\tPacket-Dst-IP-Address = 127.0.0.1\n"
    "\tPacket-Src-IP-Port = 40112\n"
    "\tPacket-Dst-IP-Port = 1812\n"
    '\tUser-Name = "u12"\n'
    "\tNAS-Port = 7\n"
    "\tMessage-Authenticator = 0x8c1bca3b4e1b7e4a\n"
    "\tTimestamp = 1796523459\n"
    "\n"
    "Sun Dec  6 02:17:40 2026\n"
    "\tPacket-Src-IP-Address = 192.0.2.9\n"
    '\tUser-Name = "a \\"b\\" \\\\c\\001 é"\n'
    "\tTimestamp = 1796523460\n"
    "\n"
    "Sun Dec  6 02:17:41 2026\n"
    "\tPacket-Src-IP-Address = 127.0.0.1\n"
    '\tUser-Name = "u13"\n'
)


def test_the_detail_files_entries_are_read_in_order_and_a_partial_one_is_left_out():
    assert logins.parse(DETAIL) == [Login("u12", "127.0.0.1", 1796523459), Login('a "b" \\c\x01 é', "192.0.2.9", 1796523460)]
    assert logins.parse("") == []
    assert logins.parse(DETAIL.split("\n\n")[0]) == [Login("u12", "127.0.0.1", 1796523459)]  # no blank line at EOF


def _entry(user: str, at: int) -> str:
    return f'Sun Dec  6 02:17:39 2026\n\tPacket-Src-IP-Address = 127.0.0.1\n\tUser-Name = "{user}"\n\tTimestamp = {at}\n\n'


def test_the_file_is_taken_over_recorded_in_batches_and_removed_after_the_last_commit(tmp_path):
    (tmp_path / "detail").write_text("".join(_entry(f"u{i}", 100 + i) for i in range(5)))
    seen: list[list[str]] = []
    assert logins.record_file(tmp_path, lambda part: seen.append([x.username for x in part]), batch=2) == 5
    assert seen == [["u0", "u1"], ["u2", "u3"], ["u4"]]
    assert list(tmp_path.iterdir()) == []
    assert logins.record_file(tmp_path, seen.append) == 0  # no file: nothing, no call
    assert logins.record_file(tmp_path / "not-yet", seen.append) == 0  # FreeRADIUS has not made the directory
    assert len(seen) == 3


def test_a_batch_that_fails_leaves_the_file_and_the_next_pass_records_it_before_newer_entries(tmp_path):
    (tmp_path / "detail").write_text(_entry("u1", 100) + _entry("u2", 101))

    def down(part):
        raise ConnectionError("the database is away")

    with pytest.raises(ConnectionError):
        logins.record_file(tmp_path, down, batch=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["detail.work"]  # nothing lost
    (tmp_path / "detail").write_text(_entry("u3", 102))  # FreeRADIUS went on writing meanwhile
    seen: list[str] = []
    assert logins.record_file(tmp_path, lambda part: seen.extend(x.username for x in part)) == 2
    assert seen == ["u1", "u2"] and sorted(p.name for p in tmp_path.iterdir()) == ["detail"]
    assert logins.record_file(tmp_path, lambda part: seen.extend(x.username for x in part)) == 1
    assert seen == ["u1", "u2", "u3"] and list(tmp_path.iterdir()) == []


WRITER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
fcntl.lockf(fd, fcntl.LOCK_EX)  # as rlm_detail locks for each entry
print("locked", flush=True)
sys.stdin.readline()
os.write(fd, sys.argv[2].encode())
os.close(fd)
"""


def test_an_entry_being_written_when_the_reader_comes_is_recorded_whole(tmp_path):
    """A writer (another process, like FreeRADIUS) holds the file's lock: the reader waits for it, so it
    never reads half an entry, nor renames the file under it."""
    (tmp_path / "detail").write_text(_entry("u1", 100))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path / "detail"), _entry("u2", 101)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline() == "locked\n"
        seen: list[str] = []
        reader = threading.Thread(
            target=logins.record_file, args=(tmp_path, lambda part: seen.extend(x.username for x in part))
        )
        reader.start()
        writer.stdin.write("go\n")
        writer.stdin.flush()
        reader.join(30)
        assert writer.wait(30) == 0
    finally:
        writer.kill() if writer.poll() is None else None
    assert seen == ["u1", "u2"] and list(tmp_path.iterdir()) == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_batch_function_writes_what_replaying_one_at_a_time_writes(actor):
    """Per login the latest entry (the last in the file among equal times), never over a later one
    recorded already; unknown logins and names with "=" (rlm_sql's escapes) write nothing."""
    from tripleplay.radius import services
    from tripleplay.radius.tests.test_sql_path import _login, _world

    world = _world(actor)
    a = services.create_nas(actor, name="bras-a", address="192.0.2.1", secret="secret-123", vendor="mikrotik")
    b = services.create_nas(actor, name="bras-b", address="192.0.2.2", secret="secret-123", vendor="huawei")
    for name in ("ann", "bob", "cy"):
        _login(actor, world, name)
    t = int(datetime(2026, 12, 6, 2, 0, tzinfo=UTC).timestamp())
    InternetLogin.objects.filter(account__login="cy").update(last_auth_at=datetime.fromtimestamp(t + 50, UTC), last_nas=b)
    entries = [
        ("ann", "192.0.2.1", t + 10),
        ("bob", "192.0.2.1", t + 5),
        ("ann", "192.0.2.2", t + 3),
        ("bob", "192.0.2.1", t + 7),
        ("bob", "192.0.2.2", t + 7),
        ("cy", "192.0.2.1", t + 20),
        ("nobody", "192.0.2.1", t),
        ("ann=20", "192.0.2.2", t + 99),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT radius_sql_post_auth_batch(%s::text[], %s::text[], %s::bigint[])",
            [[e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries]],
        )
        assert cursor.fetchone() == (2,)  # ann and bob; cy has a later authentication already
    got = dict(InternetLogin.objects.values_list("account__login", "last_nas_id"))
    assert got == {"ann": a.pk, "bob": b.pk, "cy": b.pk}
    at = dict(InternetLogin.objects.values_list("account__login", "last_auth_at"))
    assert {k: int(v.timestamp()) for k, v in at.items()} == {"ann": t + 10, "bob": t + 7, "cy": t + 50}
    with connection.cursor() as cursor:  # the same batch again (a file recorded twice): nothing changes
        cursor.execute(
            "SELECT radius_sql_post_auth_batch(%s::text[], %s::text[], %s::bigint[])",
            [[e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries]],
        )
    assert dict(InternetLogin.objects.values_list("account__login", "last_auth_at")) == at


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_reader_records_the_file_into_postgresql_and_commits(actor, tmp_path):
    from tripleplay.radius import server, services
    from tripleplay.radius.tests.test_sql_path import _login, _world

    world = _world(actor)
    nas = services.create_nas(actor, name="bras", address="127.0.0.1", secret="secret-123", vendor="mikrotik")
    _login(actor, world, "u1")
    (tmp_path / "detail").write_text(_entry("u1", 1796523459) + _entry("u2", 1796523460))
    with sql_role() as (role, password):  # the SQL path's own role (D300), as deployed
        env = server.logins_environment(
            server.Settings(tripleplay_url="http://x", token="t", **{
                **server.sql_settings(connection.settings_dict), "sql_user": role, "sql_password": password})
        )
        _record(tmp_path, env)
    login = InternetLogin.objects.get(account__login="u1")
    assert (login.last_nas_id, int(login.last_auth_at.timestamp())) == (nas.pk, 1796523459)


def _record(tmp_path, env: dict) -> None:
    conninfo = " ".join(
        f"{k}={v}"
        for k, v in {
            "host": env["PGHOST"],
            "port": env["PGPORT"],
            "user": env["PGUSER"],
            "password": env["PGPASSWORD"],
            "dbname": env["PGDATABASE"],
        }.items()
        if v
    )
    stop = threading.Event()
    stop.set()  # one pass, then out
    logins.run(tmp_path, conninfo, stop=stop, log=pytest.fail)
    assert list(tmp_path.iterdir()) == []
