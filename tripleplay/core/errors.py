"""Domain errors. Services raise these; every edge (REST, XML, CLI, web) renders them the same way:
a stable machine ``code``, a human ``message``, optional ``details``, and an HTTP status.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(DomainError):
    code = "invalid_input"
    http_status = 422


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class TransitionNotAllowed(Conflict):
    code = "status_transition_not_allowed"


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


class IdempotencyConflict(Conflict):
    """The idempotency key was used before for a different request."""

    code = "idempotency_key_reused"


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403


class Throttled(DomainError):
    """Too many attempts in a window (portal logins): try again later."""

    code = "throttled"
    http_status = 429
