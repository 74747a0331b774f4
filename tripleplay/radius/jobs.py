"""What the radius app asks `tripleplay worker` to run (registered in tripleplay.radius.apps): the
Disconnect-Request and CoA-Request outbox, drained on every loop of every worker
(core.scheduler.WorkerLoop, named radius-disconnects since before CoA), not on a schedule; and the
reconciliation with the NAS's view of its sessions, a periodic job (radius-reconcile)."""

from __future__ import annotations

from tripleplay.core.scheduler import PeriodicJob, WorkerLoop
from tripleplay.radius.coa import Sender


def send_disconnects() -> int:
    # A short budget: the loop runs between the provisioning worker's batches; what is left is sent on
    # the next one.
    return Sender(batch_size=32, threads=32).run_until_idle(max_seconds=3)


def reconcile_sessions() -> str:
    from tripleplay.radius.reconcile import reconcile_all

    return reconcile_all()


LOOPS = (WorkerLoop("radius-disconnects", send_disconnects, lambda: None),)
JOBS = (PeriodicJob("radius-reconcile", reconcile_sessions, default_seconds=300),)
