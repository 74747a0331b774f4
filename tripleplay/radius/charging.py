"""Real-time charging of internet sessions: RADIUS accounting into the charging-session core
(tripleplay/sessions, docs/sessions.md), and the core's "this session must end" back into the
Disconnect outbox (docs/radius.md, "Charging").

A NAS's session is charged as a data session of the account whose login is its User-Name: the
client is ``nas:<NAS id>`` and the session id its Acct-Session-Id (unique per NAS), so a NAS sees only
its own sessions. Accounting counters are cumulative, and so is what the core takes (the bytes both
ways), so a retransmitted or late accounting request charges nothing twice.

Products without a data rate table are flat-rate internet: the core answers ``no_rate`` (or
``no_subscription``) at the start, nothing is charged per use and the session goes on. A start
refused because the subscriber may not use the network (no funds for a first quota, the customer or
account not active) disconnects the session: the NAS let it in before tripleplay heard of it only if
the authorization and the start raced with a change, or the funds ran out in between."""

from __future__ import annotations

import ipaddress

from tripleplay.core import prepared
from tripleplay.rating.pricing import DATA
from tripleplay.sessions import decision
from tripleplay.sessions import services as core

CLIENT_PREFIX = "nas:"  # the client name of a NAS's sessions in the charging core
NOT_CHARGED_PER_USE = {decision.NO_RATE, decision.NO_SUBSCRIPTION, decision.UNKNOWN_SUBSCRIBER}


def client(nas_id: int) -> str:
    return f"{CLIENT_PREFIX}{nas_id}"


def window_key(nas_address: str, acct_session_id: str) -> str | None:
    """The charging session's name for the fast path (D295): the NAS's address as PostgreSQL's host()
    prints it (radius_sql_interim builds the same from Packet-Src-IP-Address) and the Acct-Session-Id
    as stored (64 characters at most). None for an IPv6 address with an IPv4 address inside (PostgreSQL
    prints its last 32 bits as IPv4, Python before 3.13 does not): its sessions stay the Python path's."""
    address = ipaddress.ip_address(nas_address)
    if address.version == 6 and int(address) >> 32 in (0, 0xFFFF):
        return None
    return f"{address} {acct_session_id[:64]}"


def reported_of(session) -> core.Reported:
    """The NAS's counters of the session row, for the core (the fast path's retransmission check)."""
    return core.Reported(session.input_octets, session.output_octets, session.session_time_seconds,
                         session.framed_ip or None)


def _key(session) -> str | None:
    return window_key(session.nas.address, session.acct_session_id)


def used_bytes(session) -> int:
    """Bytes both ways, bounded as the core bounds every counter (a NAS's 64-bit counters can exceed it)."""
    return min(session.input_octets + session.output_octets, core.MAX_USAGE)


def must_disconnect_at_start(answer: dict) -> bool:
    """A refused start that bars the subscriber (funds, status), as opposed to one that only means the
    product is not charged per use."""
    return answer["result"] == "refused" and answer["code"] not in NOT_CHARGED_PER_USE


def started(session, *, account=None) -> dict:
    """Accounting-Start (or the first accounting heard of a session): open the charging session and
    reserve its first quota; a session that already carries usage is charged for it at once.
    ``account``: the account of the session's User-Name with its customer, as the caller read it in
    this transaction (not read again, D298)."""
    answer = core.start(client(session.nas_id), session_id=session.acct_session_id, service_type=DATA,
                        subscriber=session.username, by="login", windowed=True, window_key=_key(session),
                        reported=reported_of(session), account=account)
    if answer["result"] == "granted" and used_bytes(session):
        answer = core.update(client(session.nas_id), session_id=session.acct_session_id, used=used_bytes(session),
                             window_key=_key(session), reported=reported_of(session))
    return answer


def reported(session) -> dict:
    """Interim-Update with newer counters: charge what was used so far, reserve the next quota."""
    return core.update(client(session.nas_id), session_id=session.acct_session_id, used=used_bytes(session),
                       window_key=_key(session), reported=reported_of(session))


def lay_over(session, reported: core.Reported, reports: int, last_seen_at) -> None:
    """The fast path's ``reports`` of ``session`` (a NAS session row) applied to the object: each counter
    the greater, the address, the interim count, the time last heard (D295). Nothing written."""
    session.input_octets = max(session.input_octets, reported.input)
    session.output_octets = max(session.output_octets, reported.output)
    session.session_time_seconds = max(session.session_time_seconds, reported.seconds)
    session.framed_ip = reported.address or session.framed_ip
    session.interim_updates += reports
    session.updated_at = max(session.updated_at, last_seen_at)


def take_window_reports(session) -> bool:
    """Fold what the fast path took for ``session`` (its NAS row, locked by the caller) into the row:
    each counter the greater, the interim count, the address and the time last heard (D295). Saved
    at once (what was taken is the row's now). True if there was any."""
    taken = core.take_reports(client(session.nas_id), session.acct_session_id)
    if taken is None:
        return False
    lay_over(session, taken.reported, taken.reports, taken.last_seen_at)
    session.save(update_fields=["input_octets", "output_octets", "session_time_seconds", "framed_ip",
                                "interim_updates", "updated_at"])
    return True


def close_windows_of_nas(nas_id: int, *, forget_keys: bool) -> int:
    """The NAS's sessions' fast windows closed now (D295: disabled, or its address changed)."""
    return core.close_windows(client=client(nas_id), forget_keys=forget_keys)


def stopped(session) -> dict:
    """Accounting-Stop, or the NAS's Accounting-On/Off: charge the rest and release the reservation
    (a session that was never charged is answered 'unknown' and nothing happens)."""
    return core.stop(client(session.nas_id), session_id=session.acct_session_id, used=used_bytes(session),
                     reported=reported_of(session))


# -- an Interim-Update in one database call (PostgreSQL, D212) ---------------------------------------------

# The NAS's session row and the charging core's read of its charging session, in one statement.
_SESSION_SQL = ("SELECT ns.id, ns.status, ns.input_octets, ns.output_octets, ns.session_time_seconds, "
                + core.SNAPSHOT_COLUMNS + " FROM radius_networksession ns LEFT JOIN (" + core.SNAPSHOT_JOINS
                + ") ON s.client = %s AND s.session_id = ns.acct_session_id"
                " WHERE ns.nas_id = %s AND ns.acct_session_id = %s")
_LEADING_TYPES = ("bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint", "inet", "timestamptz")


# radius_sql_interim (radius/sql, D280, D295): FreeRADIUS's rlm_sql calls it with the request's attributes
# (mods/tripleplay_sql); the accounting view calls it first with the same values, so that both share
# one rule. Its answer: the charging session's id, handled whole (negative: a retransmission, nothing
# changed); 0, nothing written, the Python path's.
_WINDOW_SQL = ("SELECT radius_sql_interim(%s::text, %s::text, %s::bigint, %s::bigint, %s::bigint, %s::bigint,"
               " %s::bigint, %s::inet, %s::bigint, %s::timestamptz)")
_WORD = 2**32


def interim_in_window(nas, acct_session_id: str, counters: dict, framed_ip: str | None, now) -> str | None:
    """record_accounting's Interim-Update when radius_sql_interim takes it (its session's fast window,
    or a retransmission): what it did, or None when nothing was written and the Python path decides.
    ``counters`` are record_accounting's (gigawords folded in), ``now`` has the Acct-Delay-Time off."""
    if not core.fast_windows_on():
        return None
    i, o = counters["input_octets"], counters["output_octets"]
    row = prepared.fetch_one(_WINDOW_SQL, [nas.address, acct_session_id, i % _WORD, i // _WORD, o % _WORD,
                                           o // _WORD, counters["session_time_seconds"], framed_ip, 0, now])
    if not row or not row[0]:
        return None
    if row[0] < 0:
        return f"Interim-Update: charging session {-row[0]} unchanged (fast window)"  # a retransmission
    return f"Interim-Update: charging session {row[0]} updated (fast window)"


def interim_in_db(nas_id: int, acct_session_id: str, counters: dict, framed_ip: str | None, now) -> str | None:
    """record_accounting's Interim-Update with newer counters, the session row and its charge in one
    call of radius_interim_update, when the charge is the core's common case (sessions.services.
    prepare_update); what it did, or None when nothing was written and the Python path decides.
    With fast windows on (D280) a report the window did not take is Python's, which posts the window's
    charges and opens the next, unless no window can open now (the settle lead before midnight, D281):
    prepare_update decides."""
    if not core.db_functions_on():
        return None
    row = prepared.fetch_one(_SESSION_SQL, [client(nas_id), nas_id, acct_session_id])
    if row is None or row[1] != "active":
        return None
    pk, was = row[0], row[2:5]
    new = tuple(max(a, b) for a, b in zip(was, (counters["input_octets"], counters["output_octets"],
                                                counters["session_time_seconds"]), strict=True))
    if new == tuple(was):
        return None  # a retransmission: the Python path answers it, changing nothing
    used = min(new[0] + new[1], core.MAX_USAGE)
    answer = core.charge_in_db(client(nas_id), acct_session_id, used, function="radius_interim_update",
                               leading=([pk, *was, *new, framed_ip, now], _LEADING_TYPES), count=True,
                               row=row[5:])
    if answer is None:
        return None
    return f"Interim-Update: session {pk} updated ({answer['result']}: {answer['code']})"
