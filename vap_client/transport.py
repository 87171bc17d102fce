"""The HTTP layer every part of the client shares: base URL, login token, errors."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from vap_client.errors import ServerUnreachable, from_response
from vap_client.models import Page

M = TypeVar("M")

USER_AGENT = "vap-client/0.1"


class Transport:
    """Holds the connection pool and the login token; `request` raises `ApiError`
    (a subclass per status) for any answer outside 2xx and `ServerUnreachable` when
    nothing answers."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers={"User-Agent": USER_AGENT}
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def auth_headers(self, api_key: str | None = None) -> dict[str, str]:
        """The Authorization header: an API key when given, else the login token."""
        secret = api_key or self.token
        return {"Authorization": f"Bearer {secret}"} if secret else {}

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._http.request(
                method,
                path,
                params=params,
                headers={**self.auth_headers(api_key), **(headers or {})},
                **kwargs,
            )
        except httpx.ConnectError as exc:
            raise ServerUnreachable(self.base_url, str(exc) or type(exc).__name__) from exc
        if response.status_code >= 400:
            raise from_response(response)
        return response

    def get_as(self, model: type[M], path: str, **params: Any) -> M:
        return _parse(model, self.request("GET", path, params=params).json())

    def post_as(self, model: type[M], path: str, body: Any = None, **kwargs: Any) -> M:
        return _parse(model, self.request("POST", path, json=body, **kwargs).json())

    def page_of(self, model: type[M], path: str, **params: Any) -> Page[M]:
        return Page[model].model_validate(self.request("GET", path, params=params).json())  # type: ignore[valid-type]

    def delete(self, path: str) -> None:
        self.request("DELETE", path)


def _parse(model: type[M], body: Any) -> M:
    if model in (dict, list):
        return body  # type: ignore[no-any-return]
    if getattr(model, "__origin__", None) is list:
        (item,) = model.__args__  # type: ignore[attr-defined]
        return [item.model_validate(x) for x in body]  # type: ignore[return-value]
    return model.model_validate(body)  # type: ignore[attr-defined,no-any-return]


def drop_none(**values: Any) -> dict[str, Any]:
    """A JSON body of the given fields, those left at None omitted (the server's defaults)."""
    return {k: v for k, v in values.items() if v is not None}
