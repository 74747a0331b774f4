"""What the radius app asks `tripleplay worker` to run (registered in tripleplay.radius.apps): the
Disconnect-Request outbox, drained on every loop of every worker (core.scheduler.WorkerLoop), not on a
schedule."""

from __future__ import annotations

from tripleplay.core.scheduler import WorkerLoop
from tripleplay.radius.coa import Sender


def send_disconnects() -> int:
    # A short budget: the loop runs between the provisioning worker's batches; what is left is sent on
    # the next one.
    return Sender(batch_size=32, threads=32).run_until_idle(max_seconds=3)


LOOPS = (WorkerLoop("radius-disconnects", send_disconnects, lambda: None),)
