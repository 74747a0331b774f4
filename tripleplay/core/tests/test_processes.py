"""core.processes.stop_process on real child processes: SIGTERM, SIGKILL after the grace, and the
process group of a leader swept once it is gone (what a granian killed outright leaves)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tripleplay.core.processes import stop_process

# Ignores SIGTERM; says when it does.
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
# Starts a child in its own group, then dies of SIGTERM (Python's default) leaving the child behind.
LEADER = ("import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
          "print(c.pid, flush=True); time.sleep(60)")


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_sigterm_ends_a_process_and_nothing_happens_for_none_or_one_already_ended():
    stop_process(None)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_process(process, grace=10)
    assert process.returncode == -15
    stop_process(process)  # again: nothing
    assert process.returncode == -15


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace():
    process = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    started = time.monotonic()
    stop_process(process, grace=0.5)
    assert process.returncode == -9
    assert time.monotonic() - started < 5
    process.stdout.close()


def test_the_group_of_a_leader_is_swept_and_a_process_in_our_group_leaves_its_children_alone():
    for own_group in (True, False):
        process = subprocess.Popen([sys.executable, "-c", LEADER], stdout=subprocess.PIPE, text=True,
                                   process_group=0 if own_group else None)
        child = int(process.stdout.readline())
        try:
            stop_process(process, grace=10)
            assert process.returncode == -15
            if own_group:
                assert _gone_within(child, 5), "the leader's child outlived stop_process"
            else:  # not a group of its own: only the process itself is stopped
                assert _alive(child)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
            process.stdout.close()
