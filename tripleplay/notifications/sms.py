"""The SMS provider adapter: Twilio Programmable Messaging, "Create a Message resource"
(https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource):

    POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json
    Authorization: Basic base64(AccountSid:AuthToken)
    Content-Type: application/x-www-form-urlencoded      To=+4915...&From=+1...&Body=...[&StatusCallback=...]

201 Created with the Message resource as JSON ({"sid": "SM...", "status": "queued", ...}); an error is
JSON {"code", "message", "more_info", "status"} (https://www.twilio.com/docs/usage/twilios-response):
21211 invalid To, 21602 no Body, 21617 Body over 1600 characters, 20003 authentication, 20429 too many
requests. How a result is classified (D112): 2xx sent; 429 and 5xx transient (Twilio did not take it);
other 4xx permanent; a connection that never opened transient; a timeout or a break after the request
was written unknown (Twilio may have queued it, so it is not sent again automatically: Twilio's
Messages API has no idempotency key).

Status callbacks (D202): with ``StatusCallback`` Twilio POSTs each later status of the message (sending,
sent, delivered, undelivered, failed; never the initial queued), form-encoded (MessageSid, MessageStatus,
ErrorCode, ...), signed in ``X-Twilio-Signature``: base64(HMAC-SHA1(AuthToken, the full URL + each POST
parameter's name and value, sorted by name)) (https://www.twilio.com/docs/usage/webhooks/webhooks-security,
https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
from django.conf import settings

from tripleplay.notifications.policy import PERMANENT, TRANSIENT, UNKNOWN, Outcome


class TwilioSms:
    def __init__(self, *, api_base: str, account_sid: str, auth_token: str, sender: str, status_callback: str = "",
                 timeout: float = 10.0):
        self.account_sid, self.sender, self.status_callback = account_sid, sender, status_callback
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.client = httpx.Client(auth=(account_sid, auth_token), follow_redirects=False, trust_env=False,
                                   timeout=httpx.Timeout(timeout))

    @classmethod
    def from_settings(cls) -> TwilioSms | None:
        if not settings.TRIPLEPLAY_TWILIO_ACCOUNT_SID:
            return None
        return cls(api_base=settings.TRIPLEPLAY_TWILIO_API_BASE, account_sid=settings.TRIPLEPLAY_TWILIO_ACCOUNT_SID,
                   auth_token=settings.TRIPLEPLAY_TWILIO_AUTH_TOKEN, sender=settings.TRIPLEPLAY_TWILIO_FROM,
                   status_callback=settings.TRIPLEPLAY_TWILIO_STATUS_CALLBACK,
                   timeout=settings.TRIPLEPLAY_SMS_TIMEOUT_SECONDS)

    def close(self) -> None:
        self.client.close()

    def send(self, to: str, body: str) -> Outcome:
        form = {"To": to, "From": self.sender, "Body": body}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        try:
            r = self.client.post(self.url, data=form)
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            return Outcome(False, failure=TRANSIENT, error=f"{type(e).__name__}: {e}"[:500])
        except httpx.HTTPError as e:
            return Outcome(False, failure=UNKNOWN,
                           error=f"outcome unknown, not sent again automatically: {type(e).__name__}: {e}"[:500])
        return classify(r.status_code, r.text)


_TRACKED = ("queued", "sending", "sent", "delivered", "undelivered", "failed")  # models.ProviderStatus


def classify(status: int, text: str) -> Outcome:
    import json

    try:
        answer = json.loads(text)
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if 200 <= status < 300:
        sid = str(answer.get("sid") or "")
        if not sid:
            return Outcome(False, failure=UNKNOWN, error=f"HTTP {status} without a message sid"[:500])
        status = str(answer.get("status") or "")
        return Outcome(True, provider_id=sid, provider_status=status if status in _TRACKED else "")
    code, message = answer.get("code"), answer.get("message") or text[:200]
    error = f"HTTP {status}" + (f" Twilio {code}" if code else "") + f": {message}"
    return Outcome(False, failure=TRANSIENT if status == 429 or status >= 500 else PERMANENT, error=error[:500])


def signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's request signature: the URL Twilio called, then every POST parameter as name + value in
    the order of the names (a repeated name: its values in order), HMAC-SHA1 with the Auth Token, base64."""
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def signature_valid(auth_token: str, url: str, params: list[tuple[str, str]], given: str | None) -> bool:
    if not auth_token or not given:
        return False
    return hmac.compare_digest(signature(auth_token, url, params).encode(), given.encode())
