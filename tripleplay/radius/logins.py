"""The SQL path's accepted logins, recorded in batches (D290).

FreeRADIUS's post-auth appends every login the SQL path accepted to ``RUN_DIR/logins/detail`` (the
``detail`` instance ``tripleplay_logins`` of mods/tripleplay_sql). This reader takes the file over with
FreeRADIUS's own detail-reader protocol and records its logins many to a statement,
``radius_sql_post_auth_batch`` (radius/sql/radius_sql_authorize.sql):

1. ``detail.work`` left by a reader that stopped is taken first; otherwise ``detail`` is renamed
   ``detail.work``; then it is locked (fcntl, the lock FreeRADIUS's writer takes for each entry, so an
   entry being written is finished first);
2. the lock is held while the file is read and recorded: a FreeRADIUS thread that still has the old file
   open fails to lock it and opens ``detail`` again (a new file), as it does for its own reader;
3. its logins go to the database ``batch`` at a time, each batch one transaction, committed (a normal,
   durable commit: one WAL flush per batch) before the next;
4. the file is removed, then unlocked. Stopped anywhere before that, the file is still there and is
   recorded again: the function never writes over a later authentication, so twice is once.

No Django here: FreeRADIUS's runner (``server.FreeradiusProcess``) starts it as
``python -m tripleplay.radius.logins DIR`` with libpq's PG* environment, the database FreeRADIUS's
rlm_sql uses; a deployment runs the same as its own unit (deploy/freeradius/tripleplay-radius-logins.service,
the database URL from a credential file).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

FILE = "detail"
WORK = "detail.work"
BATCH = 1000  # logins a statement: one transaction and one WAL flush per batch
INTERVAL = 1.0  # seconds between looks at the file: how late a login's last authentication arrives when idle
RETRY = 5.0  # seconds before trying again after a database or file error


@dataclass(frozen=True)
class Login:
    username: str
    nas: str  # the NAS's address (the packet's source)
    at: int  # Unix seconds: when FreeRADIUS received the Access-Request


# rlm_detail writes a string as FreeRADIUS prints it: in double quotes, with \\ \" \n \r \t and any other
# byte below 0x20 (or 0x7f) as a three-digit octal escape; UTF-8 is kept as it is.
_ESCAPE = re.compile(rb"\\([0-7]{3}|.)", re.DOTALL)
_NAMED = {b"n": b"\n", b"r": b"\r", b"t": b"\t"}


def _unquote(value: str) -> str:
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    body = value[1:-1].encode("utf-8", "surrogateescape")

    def one(m: re.Match) -> bytes:
        code = m.group(1)
        return bytes([int(code, 8) & 0xFF]) if len(code) == 3 else _NAMED.get(code, code)

    return _ESCAPE.sub(one, body).decode("utf-8", "replace")


def parse(text: str) -> list[Login]:
    """The logins of a detail file's text, in file order. An entry is a header line, tab-indented
    ``Name = value`` lines and a blank line; one without a User-Name, a source address or a Timestamp
    (a partial last entry) is skipped."""
    out: list[Login] = []
    user = nas = at = None
    for line in text.splitlines():
        if not line.strip():
            if user is not None and nas and at is not None:
                out.append(Login(user, nas, at))
            user = nas = at = None
            continue
        if not line.startswith("\t"):
            continue  # the entry's header (its date)
        name, sep, value = line[1:].partition(" = ")
        if not sep:
            continue
        if name == "User-Name":
            user = _unquote(value)
        elif name == "Packet-Src-IP-Address":
            nas = value
        elif name == "Timestamp" and value.isdigit():
            at = int(value)
    if user is not None and nas and at is not None:
        out.append(Login(user, nas, at))
    return out


def batches(logins: Sequence[Login], size: int) -> Iterable[Sequence[Login]]:
    for start in range(0, len(logins), size):
        yield logins[start : start + size]


def _take(directory: Path) -> int | None:
    """A locked descriptor of detail.work (left over, or detail renamed to it); None when there is none.

    detail is renamed before it is locked: a FreeRADIUS thread that meets the lock opens detail again and
    must find a new file at once, since it gives up after a few tries (exfile.c's MAX_TRY_LOCK) and then
    fails post-auth, which rejects the login. The lock then waits for a thread still writing an entry
    into the renamed file (it opened it before the rename): no half entry is read."""
    work = directory / WORK
    try:
        fd = os.open(work, os.O_RDWR)
    except FileNotFoundError:
        try:
            os.rename(directory / FILE, work)
        except FileNotFoundError:
            return None
        fd = os.open(work, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def record_file(directory: Path, record: Callable[[Sequence[Login]], int], batch: int = BATCH) -> int:
    """Record the logins waiting in ``directory`` (one detail.work, at most), ``batch`` to a call of
    ``record`` (which commits), then remove the file. Returns the logins read (0: no file)."""
    fd = _take(Path(directory))
    if fd is None:
        return 0
    try:
        with os.fdopen(os.dup(fd), "rb") as f:
            logins = parse(f.read().decode("utf-8", "surrogateescape"))
        for part in batches(logins, batch):
            record(part)
        os.unlink(Path(directory) / WORK)
        return len(logins)
    finally:
        os.close(fd)  # releases the lock: a FreeRADIUS thread holding the removed file opens detail again


def postgres_recorder(connection) -> Callable[[Sequence[Login]], int]:
    """``record`` for a psycopg connection (not autocommit): one call of the function, then the commit."""

    def record(logins: Sequence[Login]) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT radius_sql_post_auth_batch(%s::text[], %s::text[], %s::bigint[])",
                ([x.username for x in logins], [x.nas for x in logins], [x.at for x in logins]),
            )
            rows = cursor.fetchone()[0]
        connection.commit()
        return rows

    return record


def connect(conninfo: str = ""):
    """psycopg connection (libpq's PG* environment fills what ``conninfo`` leaves out), with timeouts."""
    import psycopg

    return psycopg.connect(
        conninfo, connect_timeout=10, options="-c statement_timeout=30000", application_name="tripleplay radius logins"
    )


def run(
    directory: Path,
    conninfo: str = "",
    *,
    interval: float = INTERVAL,
    batch: int = BATCH,
    stop: threading.Event | None = None,
    log=print,
    parent: int | None = None,
) -> None:
    """Record the file every ``interval`` seconds until ``stop`` is set (or, given ``parent``, that process
    is gone), then once more (what FreeRADIUS wrote before it stopped). A failure is logged and retried
    after RETRY seconds; nothing is lost meanwhile (the file stays)."""
    stop = stop or threading.Event()
    connection = None
    last = False
    while True:
        last = stop.is_set() or (parent is not None and os.getppid() != parent)
        try:
            if connection is None:
                connection = connect(conninfo)
            record_file(directory, postgres_recorder(connection), batch)
            wait = interval
        except Exception as e:  # noqa: BLE001 - a database or file error: keep the file, retry
            log(f"radius logins: {type(e).__name__}: {e}; retrying in {RETRY:.0f} s")
            if connection is not None:
                connection.close()
                connection = None
            wait = RETRY
        if last:
            break
        stop.wait(wait)
    if connection is not None:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Record the SQL path's accepted logins from FreeRADIUS's "
        "detail file (DIR/detail) into PostgreSQL (libpq's PG* environment)."
    )
    ap.add_argument("directory", type=Path, help="RUN_DIR/logins of the rendered FreeRADIUS configuration")
    ap.add_argument("--interval", type=float, default=INTERVAL)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument(
        "--database-url-file",
        type=Path,
        help="a file holding the database URL (postgres://...; a systemd credential); default: PG*",
    )
    ap.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop (after a last pass) once the process that started this one is gone",
    )
    args = ap.parse_args(argv)
    if not args.interval > 0 or not 1 <= args.batch <= 100_000:
        ap.error("--interval must be above 0 and --batch from 1 to 100000")
    conninfo = args.database_url_file.read_text().strip() if args.database_url_file else ""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(
        args.directory,
        conninfo,
        interval=args.interval,
        batch=args.batch,
        stop=stop,
        parent=os.getppid() if args.exit_with_parent else None,
        log=lambda m: print(time.strftime("%Y-%m-%dT%H:%M:%S"), m, file=sys.stderr, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
