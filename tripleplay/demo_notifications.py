"""The demo's SMS provider: the simulated Twilio (tripleplay/simulators/sms_twilio.py) as a separate
process on 127.0.0.1, and tripleplay pointed at it (unless TRIPLEPLAY_TWILIO_ACCOUNT_SID is already set:
then the operator's own provider configuration is kept and no simulator is started). E-mail goes to the
demo's e-mail backend (files under TRIPLEPLAY_HOME/mail) as every demo e-mail does."""

from __future__ import annotations

import os

from django.conf import settings

from tripleplay.simulators.testing import TwilioSimulatorProcess

ACCOUNT_SID, AUTH_TOKEN, SENDER = "AC" + "d" * 32, "tripleplay-demo-twilio", "+15005550006"


STATUS_CALLBACK_PATH = "/api/v1/notifications/twilio/status"


def start_sms(port: int, serve_port: int | None = None, host: str = "127.0.0.1") -> TwilioSimulatorProcess | None:
    """``serve_port``: the demo server's, which the simulator posts each message's status callbacks to."""
    if os.environ.get("TRIPLEPLAY_TWILIO_ACCOUNT_SID"):
        return None
    sim = TwilioSimulatorProcess(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, port=port).start()
    # The worker is a child process that reads the environment; the server's workers are forked from
    # this process, with its settings already loaded.
    values = {"TRIPLEPLAY_TWILIO_API_BASE": sim.url, "TRIPLEPLAY_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
              "TRIPLEPLAY_TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TRIPLEPLAY_TWILIO_FROM": SENDER}
    if serve_port:
        values["TRIPLEPLAY_TWILIO_STATUS_CALLBACK"] = f"http://{host}:{serve_port}{STATUS_CALLBACK_PATH}"
    os.environ.update(values)
    for name, value in values.items():
        setattr(settings, name, value)
    return sim


def banner_lines(sim: TwilioSimulatorProcess | None) -> list[str]:
    if sim is None:
        return ["  SMS notifications: the configured Twilio account (TRIPLEPLAY_TWILIO_ACCOUNT_SID was set)", ""]
    return [f"  SMS notifications: simulated Twilio at {sim.url} (messages sent: {sim.url}/_sim/state)",
            "    Operator UI -> Notifications: templates, the outbox, retries", ""]
