"""A simulated NAS / BRAS: a separate process that speaks RADIUS (RFC 2865, 2866) to FreeRADIUS and
answers Disconnect-Request and CoA-Request (RFC 5176) on its own UDP port. It imports nothing of
billing; its dictionary is written here from the RFCs and the vendors' published attribute lists
(MikroTik RouterOS RADIUS reference, vendor 14988; Huawei BRAS RADIUS attributes, vendor 2011).

    python -m tripleplay.simulators.nas --radius 127.0.0.1 --auth-port 1812 --acct-port 1813 \
        --secret S [--bind 127.0.0.1] [--coa-port 0] [--port 0]

prints one JSON line (control URL, address, CoA port), then serves until SIGTERM.

What it does like a real NAS:
- a login is an Access-Request (PAP: User-Password hidden with the secret, RFC 2865 5.2) with
  NAS-IP-Address, NAS-Port-Type Ethernet, Service-Type Framed-User, Calling-Station-Id; on Accept it
  opens a session, assigns a Framed-IP-Address and sends Accounting-Start;
- accounting is cumulative (octets with Gigawords, session time); a retransmission is the same
  packet with a new Identifier and a larger Acct-Delay-Time (RFC 2866 4.1 / 5.2);
- a Disconnect-Request whose Request Authenticator does not verify with the secret is silently
  discarded (RFC 5176 3.3); one naming an unknown session is answered Disconnect-NAK with
  Error-Cause 503 (Session-Context-Not-Found); one naming a known session ends it with Accounting-Stop
  (Acct-Terminate-Cause Admin-Reset) and is answered Disconnect-ACK.

Control API (JSON) under /_sim: GET state; POST login {username, password}; POST
sessions/<id>/interim {input_octets, output_octets, session_time, retransmit}; POST
sessions/<id>/stop {cause}; POST sessions/<id>/forget (gone without a Stop); POST orphans {username}
(a session nobody was told of); POST accounting {status_type: Accounting-On|Accounting-Off};
PUT faults {coa: "answer"|"drop"|"nak"}; POST reset; GET sessions (the NAS's own list of its active
sessions with the rate in force: the session source of the reconciliation, a simulator-only
stand-in for SNMP or a vendor API such as RouterOS /ppp/active).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyrad.packet
from pyrad.client import Client, Timeout
from pyrad.dictionary import Dictionary

from tripleplay.simulators.base import serve_until_stopped

DICTIONARY = """
ATTRIBUTE User-Name 1 string
ATTRIBUTE User-Password 2 string encrypt=1
ATTRIBUTE NAS-IP-Address 4 ipaddr
ATTRIBUTE NAS-Port 5 integer
ATTRIBUTE Service-Type 6 integer
ATTRIBUTE Framed-IP-Address 8 ipaddr
ATTRIBUTE Reply-Message 18 string
ATTRIBUTE Class 25 octets
ATTRIBUTE Session-Timeout 27 integer
ATTRIBUTE Idle-Timeout 28 integer
ATTRIBUTE Calling-Station-Id 31 string
ATTRIBUTE NAS-Identifier 32 string
ATTRIBUTE Acct-Status-Type 40 integer
ATTRIBUTE Acct-Delay-Time 41 integer
ATTRIBUTE Acct-Input-Octets 42 integer
ATTRIBUTE Acct-Output-Octets 43 integer
ATTRIBUTE Acct-Session-Id 44 string
ATTRIBUTE Acct-Session-Time 46 integer
ATTRIBUTE Acct-Terminate-Cause 49 integer
ATTRIBUTE Acct-Input-Gigawords 52 integer
ATTRIBUTE Acct-Output-Gigawords 53 integer
ATTRIBUTE Event-Timestamp 55 integer
ATTRIBUTE NAS-Port-Type 61 integer
ATTRIBUTE Message-Authenticator 80 octets
ATTRIBUTE Acct-Interim-Interval 85 integer
ATTRIBUTE Framed-Pool 88 string
ATTRIBUTE Error-Cause 101 integer
VALUE Acct-Status-Type Start 1
VALUE Acct-Status-Type Stop 2
VALUE Acct-Status-Type Interim-Update 3
VALUE Acct-Status-Type Accounting-On 7
VALUE Acct-Status-Type Accounting-Off 8
VALUE Acct-Terminate-Cause User-Request 1
VALUE Acct-Terminate-Cause Lost-Carrier 2
VALUE Acct-Terminate-Cause Idle-Timeout 4
VALUE Acct-Terminate-Cause Session-Timeout 5
VALUE Acct-Terminate-Cause Admin-Reset 6
VALUE Acct-Terminate-Cause NAS-Reboot 11
VALUE Service-Type Framed-User 2
VALUE NAS-Port-Type Ethernet 15
VENDOR Mikrotik 14988
BEGIN-VENDOR Mikrotik
ATTRIBUTE Mikrotik-Rate-Limit 8 string
END-VENDOR Mikrotik
VENDOR Huawei 2011
BEGIN-VENDOR Huawei
ATTRIBUTE Huawei-Input-Average-Rate 2 integer
ATTRIBUTE Huawei-Output-Average-Rate 5 integer
ATTRIBUTE Huawei-Framed-Pool 88 string
END-VENDOR Huawei
"""
SESSION_CONTEXT_NOT_FOUND = 503
STATUS = {"Start": 1, "Stop": 2, "Interim-Update": 3, "Accounting-On": 7, "Accounting-Off": 8}
CAUSES = {"User-Request": 1, "Lost-Carrier": 2, "Idle-Timeout": 4, "Session-Timeout": 5, "Admin-Reset": 6,
          "NAS-Reboot": 11}


IDENTIFICATION = ("User-Name", "Acct-Session-Id", "Framed-IP-Address", "NAS-IP-Address", "Event-Timestamp",
                  "Message-Authenticator")


def rate_of(reply: dict) -> dict | None:
    """The rate in force, in kbit/s, from the session's authorization (Access-Accept, then CoA):
    MikroTik's Mikrotik-Rate-Limit "rx/tx" (upload/download, "k" suffix), Huawei's average rates (bit/s)."""
    def kbps(text: str) -> int:
        text = text.strip().lower()
        scale = {"k": 1, "m": 1000, "g": 1_000_000}.get(text[-1:], None)
        return int(text[:-1]) * scale if scale else int(text) // 1000

    if "Mikrotik-Rate-Limit" in reply:
        up, _, down = reply["Mikrotik-Rate-Limit"][0].split(" ")[0].partition("/")
        return {"upload_kbps": kbps(up), "download_kbps": kbps(down or up)}
    if "Huawei-Input-Average-Rate" in reply and "Huawei-Output-Average-Rate" in reply:
        return {"upload_kbps": int(reply["Huawei-Input-Average-Rate"][0]) // 1000,
                "download_kbps": int(reply["Huawei-Output-Average-Rate"][0]) // 1000}
    return None


class Nas:
    def __init__(self, *, radius: str, auth_port: int, acct_port: int, secret: str, bind: str, coa_port: int,
                 timeout: float = 3.0):
        self.dictionary = Dictionary(io.StringIO(DICTIONARY))
        self.radius, self.auth_port, self.acct_port = radius, auth_port, acct_port
        self.secret, self.bind, self.timeout = secret.encode(), bind, timeout
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.sessions: dict[str, dict] = {}
        self.disconnects: list[dict] = []
        self.accounting_sent: list[dict] = []
        self.faults = {"coa": "answer"}
        self.coa_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.coa_socket.bind((bind, coa_port))
        self.coa_port = self.coa_socket.getsockname()[1]

    # -- towards FreeRADIUS -------------------------------------------------------------------------------
    def client(self) -> Client:
        client = Client(server=self.radius, authport=self.auth_port, acctport=self.acct_port, secret=self.secret,
                        dict=self.dictionary, retries=1, timeout=self.timeout)
        client.bind((self.bind, 0))
        return client

    def _send(self, packet, client) -> object | None:
        try:
            return client.SendPacket(packet)
        except Timeout:
            return None
        finally:
            client._CloseSocket()

    def login(self, username: str, password: str) -> dict:
        client = self.client()
        request = client.CreateAuthPacket(code=pyrad.packet.AccessRequest)
        request["User-Name"] = username
        request["User-Password"] = request.PwCrypt(password)
        request["NAS-IP-Address"] = self.bind
        request["NAS-Port-Type"] = "Ethernet"
        request["Service-Type"] = "Framed-User"
        request["Calling-Station-Id"] = "02-00-00-00-00-01"
        request.add_message_authenticator()
        reply = self._send(request, client)
        if reply is None:
            return {"accepted": False, "answered": False}
        attributes = {key: [str(v) for v in reply[key]] for key in reply.keys() if key != "Message-Authenticator"}
        out = {"accepted": reply.code == pyrad.packet.AccessAccept, "answered": True, "code": reply.code,
               "reply": attributes, "session": None}
        if out["accepted"]:
            n = next(self.ids)
            session = {"session_id": f"sim-{self.coa_port}-{n:06d}", "username": username,
                       "framed_ip": f"10.64.{n // 250 % 250}.{n % 250 + 2}", "input_octets": 0, "output_octets": 0,
                       "session_time": 0, "status": "active", "reply": attributes, "started": time.time()}
            with self.lock:
                self.sessions[session["session_id"]] = session
            out["session"] = session
            out["accounting_answered"] = self.account(session, "Start")
        return out

    def account(self, session: dict | None, status_type: str, *, delay: int = 0, cause: str | None = None) -> bool:
        client = self.client()
        request = client.CreateAcctPacket()
        request["Acct-Status-Type"] = status_type
        request["NAS-IP-Address"] = self.bind
        request["Acct-Delay-Time"] = delay
        if session is not None:
            request["User-Name"] = session["username"]
            request["Acct-Session-Id"] = session["session_id"]
            request["Framed-IP-Address"] = session["framed_ip"]
            request["Acct-Session-Time"] = session["session_time"]
            for direction in ("input", "output"):
                octets = session[f"{direction}_octets"]
                request[f"Acct-{direction.title()}-Octets"] = octets & 0xFFFFFFFF
                request[f"Acct-{direction.title()}-Gigawords"] = octets >> 32
        if cause:
            request["Acct-Terminate-Cause"] = cause
        answered = self._send(request, client) is not None
        with self.lock:
            self.accounting_sent.append({"status_type": status_type, "session_id": session and session["session_id"],
                                         "answered": answered, "delay": delay})
        return answered

    def interim(self, session_id: str, *, input_octets: int, output_octets: int, session_time: int,
                retransmit: int = 0) -> dict:
        session = self.sessions[session_id]
        session.update(input_octets=input_octets, output_octets=output_octets, session_time=session_time)
        answered = [self.account(session, "Interim-Update", delay=i) for i in range(1 + retransmit)]
        return {"answered": answered}

    def stop(self, session_id: str, cause: str = "User-Request") -> dict:
        session = self.sessions[session_id]
        if session["status"] != "active":
            return {"answered": None}
        session["status"] = "stopped"
        session["terminate_cause"] = cause
        return {"answered": self.account(session, "Stop", cause=cause)}

    # -- from tripleplay: RFC 5176 --------------------------------------------------------------------------
    def serve_coa(self) -> None:
        while True:
            try:
                data, peer = self.coa_socket.recvfrom(4096)
            except OSError:
                return
            try:
                self.handle_coa(data, peer)
            except Exception as e:  # a malformed packet is dropped, as a NAS would
                print(f"nas: dropped a packet from {peer}: {e}", file=sys.stderr, flush=True)

    def handle_coa(self, data: bytes, peer) -> None:
        request = pyrad.packet.CoAPacket(secret=self.secret, dict=self.dictionary, packet=data)
        if request.code not in (pyrad.packet.DisconnectRequest, pyrad.packet.CoARequest):
            return
        if not request.VerifyCoARequest():
            with self.lock:
                self.disconnects.append({"peer": peer[0], "verified": False})
            return
        session_id = request["Acct-Session-Id"][0] if "Acct-Session-Id" in request else None
        username = request["User-Name"][0] if "User-Name" in request else None
        record = {"peer": peer[0], "verified": True, "code": request.code, "session_id": session_id,
                  "username": username, "at": time.time()}
        with self.lock:
            self.disconnects.append(record)
            fault = self.faults.get("coa", "answer")
            session = self.sessions.get(session_id) if session_id else None
            if session and username and session["username"] != username:
                session = None
            active = session is not None and session["status"] == "active"
        if fault == "drop":
            record["answer"] = "dropped"
            return
        if fault == "nak":
            reply = request.CreateReply()
            nak = pyrad.packet.DisconnectNAK if request.code == pyrad.packet.DisconnectRequest else pyrad.packet.CoANAK
            reply.code = nak
            reply["Error-Cause"] = 506  # Resources-Unavailable
            record["answer"] = "nak"
        elif request.code == pyrad.packet.CoARequest and active:
            # A change of authorization (RFC 5176 3.1): the NAS applies the new attributes to the session;
            # the identification attributes only name it.
            changes = {k: [str(x) for x in request[k]] for k in request.keys() if k not in IDENTIFICATION}
            with self.lock:
                session["reply"].update(changes)
                session["coa_applied"] = session.get("coa_applied", 0) + 1
            record["attributes"] = changes
            reply = request.CreateReply()
            record["answer"] = "coa-ack"
        elif not active:
            reply = request.CreateReply()
            nak = pyrad.packet.DisconnectNAK if request.code == pyrad.packet.DisconnectRequest else pyrad.packet.CoANAK
            reply.code = nak
            reply["Error-Cause"] = SESSION_CONTEXT_NOT_FOUND
            record["answer"] = "nak-not-found"
        else:
            self.stop(session_id, "Admin-Reset")
            reply = request.CreateReply()
            record["answer"] = "ack"
        self.coa_socket.sendto(reply.ReplyPacket(), peer)

    def active_sessions(self) -> list[dict]:
        """The NAS's own view of its sessions, what a real NAS shows over SNMP or its API (RouterOS
        /ppp/active): id, user, address, counters, uptime and the rate in force."""
        with self.lock:
            return [{"session_id": s["session_id"], "username": s["username"], "framed_ip": s["framed_ip"],
                     "input_octets": s["input_octets"], "output_octets": s["output_octets"],
                     "session_time": s["session_time"], "rate": rate_of(s["reply"])}
                    for s in self.sessions.values() if s["status"] == "active"]

    def add_orphan(self, username: str) -> dict:
        """A session the NAS holds without having told anyone (its Accounting-Start lost): for the
        reconciliation's tests."""
        n = next(self.ids)
        session = {"session_id": f"sim-{self.coa_port}-{n:06d}", "username": username,
                   "framed_ip": f"10.64.{n // 250 % 250}.{n % 250 + 2}", "input_octets": 0, "output_octets": 0,
                   "session_time": 0, "status": "active", "reply": {}, "started": time.time()}
        with self.lock:
            self.sessions[session["session_id"]] = session
        return session

    def forget(self, session_id: str) -> dict:
        """The session vanishes without an Accounting-Stop (a lost packet, a line card reset)."""
        with self.lock:
            session = self.sessions[session_id]
            session["status"] = "lost"
        return {"session_id": session_id}

    def state(self) -> dict:
        with self.lock:
            for s in self.sessions.values():
                s["rate"] = rate_of(s["reply"])
            return {"address": self.bind, "coa_port": self.coa_port, "sessions": dict(self.sessions),
                    "disconnects": list(self.disconnects), "accounting": list(self.accounting_sent),
                    "faults": dict(self.faults)}


def make_handler(nas: Nas):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def _json(self, status: int, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}") if length else {}

        def do_GET(self):
            if self.path == "/_sim/state":
                return self._json(200, nas.state())
            if self.path == "/_sim/sessions":  # the session source the reconciliation reads (D129)
                return self._json(200, {"sessions": nas.active_sessions()})
            self._json(404, {"error": "not found"})

        def do_PUT(self):
            if self.path == "/_sim/faults":
                nas.faults.update(self._body())
                return self._json(200, nas.faults)
            self._json(404, {"error": "not found"})

        def do_POST(self):
            body = self._body()
            parts = self.path.strip("/").split("/")
            try:
                if parts == ["_sim", "login"]:
                    return self._json(200, nas.login(body["username"], body["password"]))
                if parts == ["_sim", "orphans"]:
                    return self._json(200, nas.add_orphan(body["username"]))
                if parts == ["_sim", "accounting"]:
                    return self._json(200, {"answered": nas.account(None, body["status_type"])})
                if parts == ["_sim", "reset"]:
                    with nas.lock:
                        nas.sessions.clear()
                        nas.disconnects.clear()
                        nas.accounting_sent.clear()
                        nas.faults = {"coa": "answer"}
                    return self._json(200, {})
                if len(parts) == 4 and parts[:2] == ["_sim", "sessions"] and parts[2] in nas.sessions:
                    if parts[3] == "interim":
                        return self._json(200, nas.interim(parts[2], input_octets=int(body.get("input_octets", 0)),
                                                           output_octets=int(body.get("output_octets", 0)),
                                                           session_time=int(body.get("session_time", 0)),
                                                           retransmit=int(body.get("retransmit", 0))))
                    if parts[3] == "stop":
                        return self._json(200, nas.stop(parts[2], body.get("cause", "User-Request")))
                    if parts[3] == "forget":
                        return self._json(200, nas.forget(parts[2]))
            except (KeyError, ValueError, TypeError) as e:
                return self._json(400, {"error": f"{type(e).__name__}: {e}"})
            self._json(404, {"error": "not found"})

    return Handler


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tripleplay simulate nas",
                                description="A simulated NAS (RADIUS client, RFC 5176 server).")
    p.add_argument("--radius", default="127.0.0.1", help="FreeRADIUS's address")
    p.add_argument("--auth-port", type=int, default=1812)
    p.add_argument("--acct-port", type=int, default=1813)
    p.add_argument("--secret", required=True, help="the shared secret configured for this NAS")
    p.add_argument("--bind", default="127.0.0.1", help="this NAS's address (RADIUS source and CoA port)")
    p.add_argument("--coa-port", type=int, default=0, help="UDP port for CoA / Disconnect (default: any free one)")
    p.add_argument("--port", type=int, default=0, help="control API port (default: any free one)")
    args = p.parse_args(argv)
    nas = Nas(radius=args.radius, auth_port=args.auth_port, acct_port=args.acct_port, secret=args.secret,
              bind=args.bind, coa_port=args.coa_port)
    threading.Thread(target=nas.serve_coa, daemon=True, name="coa").start()
    server = ThreadingHTTPServer((args.bind, args.port), make_handler(nas))
    host, port = server.server_address[:2]
    try:
        serve_until_stopped(server, {"simulator": "nas", "url": f"http://{host}:{port}", "address": args.bind,
                                     "coa_port": nas.coa_port})
    finally:
        nas.coa_socket.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
