"""A simulated Twilio Programmable Messaging API: a separate process speaking the part of Twilio's REST
API that tripleplay's SMS adapter uses, in Twilio's wire format (docs/notifications.md, "The simulator",
cites the reference followed: https://www.twilio.com/docs/messaging/api/message-resource and
https://www.twilio.com/docs/usage/twilios-response). It imports nothing of billing.

    python -m tripleplay.simulators.sms_twilio --port N --account-sid AC... --auth-token ...

The API:
- POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To, From, Body (StatusCallback
  optional): 201 with the Message resource as JSON ("sid": "SM" + 32 hex digits, "status": "queued");
- GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json: the message;
- HTTP Basic authentication, the Account SID as user name and the Auth Token as password, for the
  account in the path; a missing or wrong one is 401 with code 20003;
- errors are JSON {"code", "message", "more_info", "status"}: 21604 no To, 21211 To not in E.164,
  21603 no From, 21266 To equal to From, 21602 no Body, 21617 Body over 1600 characters, 21609 an
  invalid StatusCallback URL, 20404 an unknown resource, 20429 and 20503 as injected faults.

Status callbacks, as Twilio sends them (https://www.twilio.com/docs/messaging/guides/outbound-message-
status-in-status-callbacks, https://www.twilio.com/docs/usage/webhooks/webhooks-security): for a message
created with a StatusCallback, none for the initial "queued", then a form-encoded POST to that URL for each
later status ("sent" then "delivered" or "undelivered"; "failed" alone), with MessageSid, SmsSid,
MessageStatus, SmsStatus, AccountSid, From, To, ApiVersion (and ErrorCode for undelivered and failed), signed
in X-Twilio-Signature: base64(HMAC-SHA1(AuthToken, URL + the parameters' names and values sorted by name)).
The message resource takes each status as it is reported.

The control API (``/_sim/``, JSON, a test tool without credentials):
    GET  /_sim/health
    GET  /_sim/state      {"messages": [every accepted message, oldest first], "requests": count,
                           "callbacks": [{"sid", "status", "url", "response_status"} each callback sent]}
    PUT  /_sim/faults     {"status": 503 | 429 | 0, "count": N, "delay_seconds": S}: the next N create
                          requests answer that error (0: none) after S seconds of delay
    PUT  /_sim/outcome    {"status": "delivered" | "undelivered" | "failed", "error_code": 30003 | null,
                           "delay_seconds": S}: how the messages created from now on end, reported S
                          seconds (default 0.2) apart
    POST /_sim/reset      forget messages, callbacks, faults and the outcome
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from email.utils import formatdate
from urllib.parse import parse_qsl, urlencode, urlsplit

from tripleplay.simulators.base import Request, Response, make_server, serve_until_stopped

API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
# GSM 03.38 basic character set: a body of these alone is 7-bit (160 per segment, 153 when concatenated);
# any other character makes the whole body UCS-2 (70, 67).
_GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
           "¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXT = set("^{}\\[~]|€")


def segments(body: str) -> int:
    if all(c in _GSM or c in _GSM_EXT for c in body):
        units = sum(2 if c in _GSM_EXT else 1 for c in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else -(-units // multi)


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return Response.json(self.status, {"code": self.code, "message": self.message,
                                           "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
                                           "status": self.status})


class TwilioSimulator:
    def __init__(self, *, account_sid: str, auth_token: str):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.lock = threading.Lock()
        self.messages: dict[str, dict] = {}
        self.requests = 0
        self.fault_status, self.fault_count, self.delay = 0, 0, 0.0
        self.callbacks: list[dict] = []
        self.outcome, self.outcome_error, self.callback_delay = "delivered", None, 0.2

    def dispatch(self, request: Request) -> tuple[Response | None, bool]:
        try:
            if request.path.startswith("/_sim/"):
                return self.control(request), False
            return self.api(request), False
        except TwilioError as e:
            return e.response(), False

    def _authenticate(self, request: Request, account: str) -> None:
        auth = request.headers.get("authorization", "")
        try:
            user, _, password = base64.b64decode(auth[6:]).decode("utf-8").partition(":") if auth[:6] == "Basic " \
                else ("", "", "")
        except ValueError:
            user, password = "", ""
        if not (hmac.compare_digest(user, self.account_sid) and hmac.compare_digest(password, self.auth_token)
                and account == self.account_sid):
            raise TwilioError(401, 20003, "Authenticate")

    def api(self, request: Request) -> Response:
        m = re.fullmatch(rf"/{API_VERSION}/Accounts/([^/]+)/Messages(?:/([^/]+))?\.json", request.path)
        if m is None:
            raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")
        self._authenticate(request, m.group(1))
        if m.group(2):
            if request.method != "GET":
                raise TwilioError(405, 20004, "Method not allowed")
            with self.lock:
                msg = self.messages.get(m.group(2))
            if msg is None:
                raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")
            return Response.json(200, msg)
        if request.method != "POST":
            raise TwilioError(405, 20004, "Method not allowed")
        with self.lock:
            self.requests += 1
            fault, delay = 0, self.delay
            if self.fault_count > 0:
                fault, self.fault_count = self.fault_status, self.fault_count - 1
        if delay:
            time.sleep(delay)
        if fault == 429:
            raise TwilioError(429, 20429, "Too Many Requests")
        if fault:
            raise TwilioError(fault, 20500 if fault == 500 else 20503, "Service Unavailable")
        return Response.json(201, self.create(m.group(1), request))

    def create(self, account: str, request: Request) -> dict:
        params = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        to, sender, body = params.get("To", ""), params.get("From", ""), params.get("Body", "")
        callback = params.get("StatusCallback", "")
        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not sender and not params.get("MessagingServiceSid"):
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if sender == to:
            raise TwilioError(400, 21266, "'To' and 'From' number cannot be the same")
        if not body and not params.get("MediaUrl"):
            raise TwilioError(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY_CHARS:
            raise TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if callback and urlsplit(callback).scheme not in ("http", "https"):
            raise TwilioError(400, 21609, "Invalid StatusCallback")
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        msg = {"account_sid": account, "api_version": API_VERSION, "body": body, "date_created": now,
               "date_sent": None, "date_updated": now, "direction": "outbound-api", "error_code": None,
               "error_message": None, "from": sender or None, "messaging_service_sid": params.get("MessagingServiceSid"),
               "num_media": "0", "num_segments": str(segments(body)), "price": None, "price_unit": "USD",
               "sid": sid, "status": "queued", "to": to,
               "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}/Media.json"},
               "uri": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}.json"}
        with self.lock:
            self.messages[sid] = {**msg, "status_callback": callback or None}
            outcome, error_code, delay = self.outcome, self.outcome_error, self.callback_delay
        if callback:
            threading.Thread(target=self.report, args=(sid, callback, outcome, error_code, delay), daemon=True).start()
        return msg

    def signature(self, url: str, params: dict) -> str:
        data = url + "".join(k + params[k] for k in sorted(params))
        return base64.b64encode(hmac.new(self.auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()

    def report(self, sid: str, url: str, outcome: str, error_code: int | None, delay: float) -> None:
        """The message's later statuses, each POSTed to its StatusCallback, signed, as Twilio does."""
        for status in (["failed"] if outcome == "failed" else ["sent", outcome]):
            time.sleep(delay)
            with self.lock:
                msg = self.messages.get(sid)
                if msg is None:  # reset meanwhile
                    return
                msg["status"] = status
                if status in ("undelivered", "failed"):
                    msg["error_code"] = error_code
                params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                          "AccountSid": msg["account_sid"], "From": msg["from"] or "", "To": msg["to"],
                          "ApiVersion": API_VERSION}
            if status in ("undelivered", "failed") and error_code is not None:
                params["ErrorCode"] = str(error_code)
            req = urllib.request.Request(url, data=urlencode(params).encode(), method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1",
                "X-Twilio-Signature": self.signature(url, params)})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    answer = r.status
            except urllib.error.HTTPError as e:
                answer = e.code
            except OSError:
                answer = 0  # no connection: Twilio does not retry a status callback either
            with self.lock:
                self.callbacks.append({"sid": sid, "status": status, "url": url, "response_status": answer})

    def control(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        if parts == ["health"]:
            return Response.json(200, {"ok": True, "name": "twilio"})
        if parts == ["state"]:
            with self.lock:
                return Response.json(200, {"messages": list(self.messages.values()), "requests": self.requests,
                                           "callbacks": list(self.callbacks)})
        if parts == ["faults"] and request.method == "PUT":
            body = request.json() or {}
            with self.lock:
                self.fault_status, self.fault_count = int(body.get("status", 0)), int(body.get("count", 0))
                self.delay = float(body.get("delay_seconds", 0))
            return Response.json(200, {"status": self.fault_status, "count": self.fault_count, "delay_seconds": self.delay})
        if parts == ["outcome"] and request.method == "PUT":
            body = request.json() or {}
            status = body.get("status", "delivered")
            if status not in ("delivered", "undelivered", "failed"):
                return Response.json(400, {"error": "status must be delivered, undelivered or failed"})
            with self.lock:
                self.outcome, self.outcome_error = status, body.get("error_code")
                self.callback_delay = float(body.get("delay_seconds", 0.2))
            return Response.json(200, {"status": status, "error_code": self.outcome_error,
                                       "delay_seconds": self.callback_delay})
        if parts == ["reset"] and request.method == "POST":
            with self.lock:
                self.messages.clear()
                self.callbacks.clear()
                self.outcome, self.outcome_error, self.callback_delay = "delivered", None, 0.2
                self.requests, self.fault_status, self.fault_count, self.delay = 0, 0, 0, 0.0
            return Response.json(200, {"ok": True})
        return Response.json(404, {"error": f"no control endpoint {request.method} {request.path}"})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tripleplay.simulators.sms_twilio",
                                description="Run a simulated Twilio Messages API on loopback.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--account-sid", default="AC" + "0" * 32)
    p.add_argument("--auth-token", default="tripleplay-twilio-token")
    args = p.parse_args(argv)
    sim = TwilioSimulator(account_sid=args.account_sid, auth_token=args.auth_token)
    try:
        server = make_server(sim, args.host, args.port)  # duck-typed: make_server needs only dispatch()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    serve_until_stopped(server, {"simulator": "twilio", "url": f"http://{host}:{port}", "account_sid": args.account_sid})
    return 0


if __name__ == "__main__":
    sys.exit(main())
