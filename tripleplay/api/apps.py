from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The HTTP edges (JSON API, XML endpoints, the lean PPV path). No models: an app so that the
    lean path's system check runs with ``manage.py check`` and ``tripleplay serve``."""

    name = "tripleplay.api"
    label = "api"

    def ready(self) -> None:
        from tripleplay.api import (
            checks,  # noqa: F401 - registers the checks
            idempotency,
        )
        from tripleplay.core import scheduler

        scheduler.register(scheduler.PeriodicJob("idempotency-keys-prune", idempotency.prune_job,
                                                 default_seconds=3600))
