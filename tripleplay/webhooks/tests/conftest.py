from __future__ import annotations

import pytest


@pytest.fixture
def endpoint(db, actor):
    """``endpoint(event_types=["*"], url=..., enabled=True)``: an endpoint and its secret."""
    from tripleplay.webhooks.services import create_endpoint

    def make(event_types=("*",), url="http://127.0.0.1:9/hook", **kw):
        return create_endpoint(actor, url=url, event_types=list(event_types), **kw)

    return make


def events_of(event_type: str | None = None) -> list:
    from tripleplay.webhooks.models import Event

    qs = Event.objects.order_by("id")
    return list(qs.filter(type=event_type) if event_type else qs)


def deliveries_of(ep) -> list[tuple[str, str]]:
    from tripleplay.webhooks.models import Delivery

    return list(Delivery.objects.filter(endpoint=ep).order_by("id").values_list("event__type", "status"))


class Receiver:
    """The receiver process (receiver.py) on a free port; ``requests()`` reads its log."""

    def __init__(self, tmp_path, secret: str, fail_rate: float = 0.0, seed: int = 1, port: int | None = None):
        import subprocess
        import sys
        from pathlib import Path

        from tripleplay.core.testing import free_port

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.log = tmp_path / f"receiver-{self.port}.jsonl"
        self.log.touch()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("receiver.py")), "--port", str(self.port), "--secret", secret,
             "--fail-rate", str(fail_rate), "--log", str(self.log), "--seed", str(seed)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", line + (self.proc.stdout.read() if self.proc.poll() is not None else "")

    def requests(self) -> list[dict]:
        import json

        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()


@pytest.fixture
def receiver(tmp_path):
    started: list[Receiver] = []

    def start(secret: str, **kw) -> Receiver:
        r = Receiver(tmp_path, secret, **kw)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()
