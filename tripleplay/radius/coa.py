"""Sends the Disconnect-Request and CoA-Request outbox to the NAS (RFC 5176), drained by ``tripleplay worker`` on every
loop (``radius-disconnects``, a core.scheduler.Drain) and by ``tripleplay radius-disconnects``.

Claim (one short transaction): due pending commands with no live lease, oldest first,
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, leased to this sender. Send (no transaction open): one
Disconnect-Request per command through pyrad, with the NAS's timeout. Finish (one short transaction):
- Disconnect-ACK: done. Disconnect-NAK with Error-Cause 503 (Session-Context-Not-Found): done too,
  the session is gone from the NAS (its Accounting-Stop, or the reconciliation, ends ours).
- Any other NAK: failed (the dead letter; permanent: the NAS refuses, an operator looks).
- No answer (timeout, connection refused): retried with exponential backoff and jitter, up to
  ``max_attempts``, then failed.
Commands of one session are ordered by construction: a session has at most one pending command
of each kind (a partial unique index), and a newer one is written only once the previous has finished.
A CoA-Request (kind coa, D127) carries the command's rate attributes; CoA-ACK is done, CoA-NAK 503 is
done (the session is gone), another CoA-NAK failed. A newer speed change rewrites the pending
command's attributes; when that happened while the command was in flight, the command stays pending
and is sent again at once with the newest ones (the NAS ends with the last rate, never an older one).
A Disconnect-Request cancels a CoA not yet in flight (radius.services.enqueue_disconnects).
"""

from __future__ import annotations

import io
import logging
import os
import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q

from tripleplay import clock
from tripleplay.iptv import secrets
from tripleplay.radius.models import CommandKind, CommandStatus, NasCommand

log = logging.getLogger("tripleplay.radius.coa")

# The attributes a Disconnect-Request carries and its answers name (RFC 2865, 2866, 5176), in
# pyrad's dictionary syntax.
DICTIONARY = """
ATTRIBUTE User-Name 1 string
ATTRIBUTE NAS-IP-Address 4 ipaddr
ATTRIBUTE Framed-IP-Address 8 ipaddr
ATTRIBUTE Reply-Message 18 string
ATTRIBUTE Acct-Session-Id 44 string
ATTRIBUTE Event-Timestamp 55 integer
ATTRIBUTE Message-Authenticator 80 octets
ATTRIBUTE Error-Cause 101 integer
VENDOR Mikrotik 14988
BEGIN-VENDOR Mikrotik
ATTRIBUTE Mikrotik-Rate-Limit 8 string
END-VENDOR Mikrotik
VENDOR Huawei 2011
BEGIN-VENDOR Huawei
ATTRIBUTE Huawei-Input-Average-Rate 2 integer
ATTRIBUTE Huawei-Output-Average-Rate 5 integer
END-VENDOR Huawei
"""
SESSION_CONTEXT_NOT_FOUND = 503


@dataclass
class RetryPolicy:
    base_seconds: float = 1.0
    cap_seconds: float = 300.0
    max_attempts: int = 20

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
                         * rng.uniform(0.5, 1.5))


@dataclass
class Outcome:
    done: bool = False
    transient: bool = False
    error: str = ""
    response: dict | None = None


def _dictionary():
    from pyrad.dictionary import Dictionary

    return Dictionary(io.StringIO(DICTIONARY))


def send_command(command: NasCommand) -> Outcome:
    """One Disconnect-Request (or, for a coa command, CoA-Request with the command's attributes) for
    the command's session to its NAS; what the NAS answered."""
    import pyrad.packet
    from pyrad.client import Client, Timeout

    coa = command.kind == CommandKind.COA
    ack, nak = ((pyrad.packet.CoAACK, pyrad.packet.CoANAK) if coa
                else (pyrad.packet.DisconnectACK, pyrad.packet.DisconnectNAK))

    nas, session = command.nas, command.session
    try:
        secret = secrets.decrypt(nas.secret_encrypted)
    except ValueError as e:
        return Outcome(error=f"NAS {nas.name}: {e}")
    client = Client(server=nas.address, coaport=nas.coa_port, secret=secret.encode(), dict=_dictionary(),
                    retries=1, timeout=float(nas.timeout_seconds))
    request = client.CreateCoAPacket(code=pyrad.packet.CoARequest if coa else pyrad.packet.DisconnectRequest)
    request["User-Name"] = session.username
    request["Acct-Session-Id"] = session.acct_session_id
    if session.framed_ip and ":" not in session.framed_ip:
        request["Framed-IP-Address"] = session.framed_ip
    request["Event-Timestamp"] = int(clock.now().timestamp())
    if coa:
        for name, value in command.attributes.items():
            request[name] = int(value) if name.startswith("Huawei-") else value
    try:
        reply = client.SendPacket(request)
    except Timeout:
        return Outcome(transient=True, error=f"no answer from {nas.address}:{nas.coa_port}")
    except OSError as e:
        return Outcome(transient=True, error=f"{nas.address}:{nas.coa_port}: {e}")
    finally:
        client._CloseSocket()  # pyrad keeps its socket open for reuse; one per command here
    cause = reply.get("Error-Cause", [None])[0] if "Error-Cause" in reply else None
    response = {"code": reply.code, "error_cause": cause,
                "reply_message": reply["Reply-Message"][0] if "Reply-Message" in reply else None}
    if coa:
        response["attributes"] = dict(command.attributes)
    if reply.code == ack:
        return Outcome(done=True, response=response)
    if reply.code == nak and cause == SESSION_CONTEXT_NOT_FOUND:
        return Outcome(done=True, response=response)
    what = "CoA-NAK" if coa else "Disconnect-NAK"
    if reply.code != nak:
        return Outcome(error=f"unexpected answer code {reply.code} from {nas.name}", response=response)
    return Outcome(error=f"{what} from {nas.name}: Error-Cause {cause}", response=response)


class Sender:
    def __init__(self, *, name: str | None = None, batch_size: int = 50, threads: int = 16, lease_seconds: int = 60,
                 retry: RetryPolicy | None = None, seed: int | None = None):
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:coa"
        self.threads = max(1, threads)
        self.batch_size, self.lease = batch_size, timedelta(seconds=lease_seconds)
        self.retry = retry or RetryPolicy()
        self.rng = random.Random(seed)

    def claim(self) -> list[int]:
        now = clock.now()
        with transaction.atomic():
            due = (NasCommand.objects.select_for_update(skip_locked=True)
                   .filter(status=CommandStatus.PENDING, next_attempt_at__lte=now)
                   .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)).order_by("next_attempt_at", "id"))
            if connection.features.has_select_for_update_of:
                due = due.select_for_update(skip_locked=True, of=("self",))
            ids = list(due.values_list("id", flat=True)[:self.batch_size])
            NasCommand.objects.filter(id__in=ids).update(lease_owner=self.name, lease_until=now + self.lease,
                                                         updated_at=now)
        return ids

    def run_once(self) -> int:
        """One claimed batch: the NAS are asked in parallel (threads that touch no database: the rows
        were read before), the outcomes recorded here, one short transaction each."""
        ids = self.claim()
        commands = list(NasCommand.objects.select_related("nas", "session").filter(id__in=ids).order_by("id"))
        if not commands:
            return 0
        with ThreadPoolExecutor(max_workers=min(self.threads, len(commands)), thread_name_prefix="coa") as pool:
            outcomes = list(pool.map(send_command, commands))
        for command, outcome in zip(commands, outcomes, strict=True):
            self.finish(command, outcome)
        return len(commands)

    def run_until_idle(self, max_seconds: float = 60.0) -> int:
        """Batches until nothing is due, or until ``max_seconds`` have passed (the worker's job keeps
        this short so that IPTV provisioning and the other jobs are not held up)."""
        started, total = time.monotonic(), 0
        while time.monotonic() - started < max_seconds:
            done = self.run_once()
            total += done
            if not done:
                break
        return total

    def finish(self, command: NasCommand, outcome: Outcome) -> None:
        now = clock.now()
        attempts = command.attempts + 1
        fields = dict(attempts=attempts, lease_owner="", lease_until=None, last_error=outcome.error[:2000],
                      response=outcome.response or {}, updated_at=now)
        if outcome.done:
            fields.update(status=CommandStatus.DONE, finished_at=now, next_attempt_at=None)
        elif outcome.transient and attempts < self.retry.max_attempts:
            fields.update(next_attempt_at=now + self.retry.delay(attempts, self.rng))
        else:
            fields.update(status=CommandStatus.FAILED, finished_at=now, next_attempt_at=None)
            log.warning("%s %s failed for good: %s", command.kind, command.pk, outcome.error)
        with transaction.atomic():
            mine = NasCommand.objects.filter(pk=command.pk, lease_owner=self.name, status=CommandStatus.PENDING)
            if command.kind == CommandKind.COA and outcome.done:
                # A newer rate written while this one was in flight: stay pending, send it at once.
                now_wanted = mine.select_for_update().values_list("attributes", flat=True).first()
                if now_wanted is not None and now_wanted != command.attributes:
                    fields.update(status=CommandStatus.PENDING, finished_at=None, next_attempt_at=now, attempts=0)
            mine.update(**fields)
