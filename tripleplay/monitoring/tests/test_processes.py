"""Real processes: `tripleplay serve` answers /readyz 200 while a `tripleplay worker` runs and 503 once
it is killed (SIGKILL: no clean stop removes its heartbeat row), and /metrics counts it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx

from tripleplay.core.testing import home_env, run_cli, start_serve, stop_serve


def _readyz_until(url: str, status: int, seconds: float, log_path) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        response = httpx.get(url + "/readyz", timeout=5, trust_env=False)
        if response.status_code == status:
            return response.json()
        assert time.monotonic() < deadline, f"/readyz answered {response.text}\n{log_path.read_text()}"
        time.sleep(0.2)


def test_readyz_turns_unready_when_the_worker_dies(tmp_path):
    env = home_env(tmp_path / "home", TRIPLEPLAY_WORKER_HEARTBEAT_SECONDS="0.2",
                   TRIPLEPLAY_WORKER_HEARTBEAT_STALE_SECONDS="2")
    log_path = tmp_path / "processes.log"
    run_cli("migrate", "-v", "0", env=env, timeout=180)
    server, url = start_serve(env, log_path)
    worker = None
    try:
        assert _readyz_until(url, 503, 10, log_path)["failed"] == ["worker"]  # none started yet
        with open(log_path, "ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "tripleplay.cli", "worker", "--no-jobs", "--threads", "1",
                                       "--poll-seconds", "0.1", "--name", "w-e2e"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
        body = _readyz_until(url, 200, 30, log_path)
        assert body["checks"]["worker"]["workers_alive"] == 1
        metrics = httpx.get(url + "/metrics", timeout=5, trust_env=False).text
        assert "tripleplay_workers_alive 1.0" in metrics.splitlines()
        assert 'tripleplay_worker_heartbeat_age_seconds{worker="w-e2e"}' in metrics

        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        body = _readyz_until(url, 503, 15, log_path)
        assert body["failed"] == ["worker"]
        assert body["checks"]["worker"]["workers_alive"] == 0
        metrics = httpx.get(url + "/metrics", timeout=5, trust_env=False).text
        assert "tripleplay_workers_alive 0.0" in metrics.splitlines()
    finally:
        if worker is not None:
            stop_serve(worker)
        stop_serve(server)
