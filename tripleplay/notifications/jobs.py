"""The notifications app's work inside `tripleplay worker`, registered in tripleplay.notifications.apps:

- the worker loop ``notifications-delivery`` (core.scheduler.WorkerLoop): one batch of due notifications
  per step, in every worker, sharing the queue through its claims (delivery.Deliverer);
- the periodic jobs ``low-balance`` (every minute: warn below the threshold, re-arm above it) and
  ``package-ending`` (every hour: add-ons scheduled to end soon), each in one place at a time."""

from __future__ import annotations

from tripleplay.core.scheduler import PeriodicJob, WorkerLoop
from tripleplay.notifications import services
from tripleplay.notifications.delivery import Deliverer


def low_balance() -> str:
    warned, rearmed = services.scan_low_balance()
    return f"{warned} warned, {rearmed} re-armed"


def package_ending() -> str:
    return f"{services.scan_packages_ending()} notification(s)"


class _InWorker:
    def __init__(self):
        self.deliverer: Deliverer | None = None

    def step(self) -> int:
        if self.deliverer is None:
            self.deliverer = Deliverer()
        return self.deliverer.run_once()

    def close(self) -> None:
        if self.deliverer is not None:
            self.deliverer.close()
            self.deliverer = None


_IN_WORKER = _InWorker()

JOBS = (
    PeriodicJob("low-balance", low_balance, 60),
    PeriodicJob("package-ending", package_ending, 3600),
)
LOOPS = (WorkerLoop("notifications-delivery", _IN_WORKER.step, _IN_WORKER.close),)
