from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from contract import catalog

T = TypeVar("T")

TaskType = Literal[
    "image_classification",
    "object_detection",
    "instance_segmentation",
    "semantic_segmentation",
    "pose_estimation",
]


# For a parameter that takes only a catalog framework: its schema lists them, so what a
# generated client offers is what the route accepts (the route keeps its own 422 for the
# rest, naming the known ones).
FRAMEWORK_ENUM: dict[str, Any] = {"enum": list(catalog.FRAMEWORKS)}


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: object | None = None


class ErrorResponse(BaseModel):
    """The shape of every error this API returns."""

    error: ErrorDetail


# What each error status means wherever it is answered, as the OpenAPI document says it.
ERROR_STATUSES: dict[int, str] = {
    400: "Bad request",
    401: "Not authenticated, or the credentials are not valid",
    403: "Not allowed",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the resource's state (e.g. not ready, already ended, taken)",
    413: "The request body is too large",
    422: "A field, parameter or value is not valid; the message names it",
    429: "Too many requests or jobs; Retry-After says when to try again where it applies",
    500: "An unexpected error, logged with the request id",
    503: "A service it depends on (storage, a runner, the GPU backend) is unavailable",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring `statuses` (default: all of ERROR_STATUSES) with the
    common error shape, for an app, a router or a route."""
    return {
        status: {"model": ErrorResponse, "description": ERROR_STATUSES[status]}
        for status in statuses or ERROR_STATUSES
    }


# PostgreSQL's `integer`: the bound of every integer a route hands to a query (an offset,
# a sequence number, an epoch). Past a column's range a number is a database error (a
# 500), so routes refuse it first with 422.
SQL_INT_MAX = 2**31 - 1
# The furthest a page may start, for PageParams and every route's own offset.
MAX_OFFSET = SQL_INT_MAX


class PageParams(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
