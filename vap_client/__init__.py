"""The platform's Python client: typed calls for every public endpoint (httpx and
pydantic only, so it installs anywhere), and the `vap` commands built on it."""

from vap_client.client import Client
from vap_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    ServerUnreachable,
    Unauthorized,
    ValidationFailed,
)

__all__ = [
    "ApiError",
    "BadRequest",
    "Client",
    "Conflict",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "ServerUnreachable",
    "Unauthorized",
    "ValidationFailed",
]
