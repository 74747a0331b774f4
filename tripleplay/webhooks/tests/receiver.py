"""A webhook receiver for the tests: a separate process that verifies every request with the reference
`standardwebhooks` package (never with tripleplay's code) and fails a given share of them with 500.

    python receiver.py --port N --secret whsec_... --fail-rate 0.3 --log requests.jsonl [--seed 1]

Every request is one JSON line in the log: {"id", "timestamp", "verified", "status", "type", "data",
"error"}; a request that does not verify is answered 400 (and logged); one whose body ends early (its
sender was killed) is logged with verified and status null, and not answered. It prints "ready" once listening.
It imports nothing of tripleplay."""

from __future__ import annotations

import argparse
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--fail-rate", type=float, default=0.0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    hook = Webhook(args.secret)
    rng = random.Random(args.seed)
    lock = threading.Lock()
    log = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 - open for the life of the process

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            entry = {"id": self.headers.get("webhook-id"), "timestamp": self.headers.get("webhook-timestamp"),
                     "signatures": len((self.headers.get("webhook-signature") or "").split())}
            if len(body) < length:  # the sender died mid-request (a killed worker): nothing to answer
                entry.update(verified=None, status=None, error=f"incomplete body: {len(body)} of {length} bytes")
                with lock:
                    log.write(json.dumps(entry) + "\n")
                    log.flush()
                self.close_connection = True
                return
            try:
                msg = hook.verify(body, dict(self.headers.items()))
                entry.update(verified=True, type=msg["type"], data=msg["data"], event_timestamp=msg["timestamp"])
                with lock:
                    fail = rng.random() < args.fail_rate
                status = 500 if fail else 204
            except WebhookVerificationError as e:
                entry.update(verified=False, error=str(e))
                status = 400
            entry["status"] = status
            with lock:
                log.write(json.dumps(entry) + "\n")
                log.flush()
            reply = b"temporary failure" if status == 500 else (b"bad signature" if status == 400 else b"")
            self.send_response(status)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
