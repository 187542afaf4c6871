"""Errors a use case raises; their messages are Chinese and shown to users as they are."""


class ServiceError(Exception):
    """Base class: ``str(error)`` is the user-facing Chinese message."""


class PermissionDenied(ServiceError):
    """The actor may not do this (wrong role, or another enterprise's data)."""


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    """Someone else changed the thing first (optimistic locking), or the state forbids the action."""


class ValidationFailed(ServiceError):
    """Input rejected; ``problems`` lists per-field or per-row messages when there are several."""

    def __init__(self, message: str, problems: list[dict] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []
