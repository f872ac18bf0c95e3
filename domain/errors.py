"""Domain errors: the skins map each to one HTTP status and a problem-details body."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can act on. Each kind names its HTTP status and title in its class line
    (``class NotFound(DomainError, status=404, title="Not found")``); a subclass may also set them as class
    attributes."""

    status = 400
    title = "Bad request"

    def __init_subclass__(cls, *, status: int | None = None, title: str | None = None, **kw: object) -> None:
        super().__init_subclass__(**kw)
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DomainError, status=400, title="Invalid input"):
    """What was sent cannot be used (400)."""


class NotFound(DomainError, status=404, title="Not found"):
    """Nothing there, or nothing the caller may see (404: authorization is a query)."""


class Conflict(DomainError, status=409, title="Conflict"):
    """The state has moved on (409)."""


class Unauthorized(DomainError, status=401, title="Unauthorized"):
    """No (longer a) valid sign-in: the skins answer 401."""


class Forbidden(DomainError, status=403, title="Forbidden"):
    """Signed in, but not allowed (403)."""


class TooManyRequests(DomainError, status=429, title="Too many requests"):
    """Slow down: ``retry_after`` seconds (429 with Retry-After)."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))
