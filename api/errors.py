"""One error shape for every failure: {"error": {"code", "message", "details"}}.

Services raise `ApiError` subclasses and know nothing of HTTP beyond the status they
imply. Handlers here turn those, FastAPI's validation errors, Starlette's HTTP errors
and any unexpected exception into that shape. A stack trace never reaches a client:
an unexpected exception is logged with the request id and answered 500.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = structlog.get_logger("api.errors")


class ApiError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers
        if code:
            self.code = code


class BadRequest(ApiError):
    status_code, code = 400, "bad_request"


class Unauthorized(ApiError):
    status_code, code = 401, "unauthorized"

    def __init__(self, message: str = "Not authenticated", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class Forbidden(ApiError):
    status_code, code = 403, "forbidden"


class NotFound(ApiError):
    status_code, code = 404, "not_found"


class Conflict(ApiError):
    status_code, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status_code, code = 413, "payload_too_large"


class Unprocessable(ApiError):
    status_code, code = 422, "validation_error"


def invalid_form(exc: Any) -> Unprocessable:
    """A pydantic ValidationError of form fields as the common 422: the first problem in
    the message (`field: what is wrong`), every problem in the details."""
    details = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    where = ".".join(str(p) for p in details[0]["loc"]) or "body"
    return Unprocessable(f"{where}: {details[0]['msg']}", code="validation_error", details=details)


class TooManyRequests(ApiError):
    status_code, code = 429, "rate_limited"


class ServiceUnavailable(ApiError):
    status_code, code = 503, "unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _status_code_name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), exc.status_code, headers=exc.headers
    )


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    for route in routes:
        included = getattr(route, "original_router", None)  # newer FastAPI nests routers
        yield from _routes(included.routes) if included is not None else (route,)


def _allowed_methods(request: Request) -> str:
    """Every method the path answers, for `Allow`: the router's 405 names only those of
    the first route whose path matched, where several routes share a path (GET, PATCH)."""
    methods = {"OPTIONS"}
    for route in _routes(request.app.router.routes):
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:  # the path exists; the method is not one of its routes'
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        if request.method == "OPTIONS":  # what may I do here? (CORS preflights never get here)
            return Response(status_code=204, headers=headers)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    details = None if isinstance(exc.detail, str) else exc.detail
    return JSONResponse(
        error_body(_status_code_name(exc.status_code), message, details),
        exc.status_code,
        headers=headers,
    )


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Pydantic echoes the offending input; it may be a password, so it is left out.
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
    return JSONResponse(error_body("validation_error", f"{where}: {first['msg']}", details), 422)


def unexpected_error(path: str, exc: Exception) -> JSONResponse:
    """Log `exc` with its stack and the request id; the 500 to answer. Call it in the
    `except` block that caught `exc`."""
    log.exception("unhandled_exception", path=path, exc_type=type(exc).__name__)
    return JSONResponse(
        error_body("internal_error", "Internal server error; it has been logged.", None), 500
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The request middleware answers unexpected errors itself (and keeps the connection
    # usable); this handler, in Starlette's outermost ServerErrorMiddleware, answers
    # what escapes the middleware, so the id that ties the answer to the log is added here.
    answer = unexpected_error(request.url.path, exc)
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        answer.headers["X-Request-ID"] = request_id
    return answer


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
