"""Stopping a child process: SIGTERM, and SIGKILL if it is not gone in time. Used by the FreeRADIUS
runner (radius/server.py), the simulators' and the demo's processes and the tests' servers
(core/testing.py)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process(process: subprocess.Popen | None, *, grace: float = 20) -> None:
    """SIGTERM to ``process``, and SIGKILL if it has not ended ``grace`` seconds later. Nothing for None
    or a process already ended.

    A process that leads its own process group (started with ``Popen(process_group=0)``, as the tests'
    servers are) has what is left of its group killed once it is gone: granian's worker processes would
    outlive a granian killed outright. Only the leader gets the SIGTERM, so that a server stops its own
    workers (a worker stopped under it would be started again)."""
    if process is None or process.poll() is not None:
        return
    try:
        leads_group = os.getpgid(process.pid) == process.pid
    except ProcessLookupError:  # ended (not yet reaped) since poll()
        leads_group = False
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    if leads_group:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # the server took its workers with it
            pass
