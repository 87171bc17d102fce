"""What the client raises: the API's own error (code, message, details, HTTP status), as
a subclass per status so callers can catch `NotFound` without reading numbers."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    """An answer of the API outside 2xx, in its common shape
    `{"error": {"code", "message", "details"}}` (or what came instead, as the message)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Any = None,
        *,
        method: str = "",
        url: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.method = method
        self.url = url
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.message} ({self.status_code} {self.code})"


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class PayloadTooLarge(ApiError):
    pass


class ValidationFailed(ApiError):
    """422: the request did not fit the schema; the message names the field."""


class RateLimited(ApiError):
    """429: over the deployment's rate limit or quota; `retry_after` in seconds, if told."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class ServerError(ApiError):
    """5xx: the server failed or a service behind it is unavailable."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
    429: RateLimited,
}


def from_response(response: httpx.Response) -> ApiError:
    """The error an answer outside 2xx stands for. Bodies not in the common shape (a proxy's
    HTML page, plain text) become the message, cut short."""
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    code, message, details = response.reason_phrase.lower().replace(" ", "_"), "", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or code)
        message = str(err.get("message") or "")
        details = err.get("details")
    elif isinstance(body, dict) and "detail" in body:  # a plain FastAPI/Starlette answer
        message = str(body["detail"])
    else:
        message = response.text.strip()[:500]
    request = response.request
    return cls(
        status,
        code or "error",
        message or f"HTTP {status}",
        details,
        method=request.method,
        url=str(request.url),
        headers={k.lower(): v for k, v in response.headers.items()},
    )


class ServerUnreachable(Exception):
    """Nothing answered at the server's address (not started, wrong URL, network down)."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(f"cannot reach the API at {base_url}: {reason}")
        self.base_url = base_url
        self.reason = reason
