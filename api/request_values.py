"""Text PostgreSQL cannot store, refused for every request before its route runs.

PostgreSQL refuses the NUL character in text and `\\u0000` in jsonb: a NUL that reached a
query (a filter, a name, a path parameter) was a 500. Rather than a check per schema and
per parameter, which the next route would forget, the app depends on `refuse_nul` for
every route (api/main.py). It reads what the request carries as the route will read it:
path and query parameters, and the body FastAPI has already parsed (a JSON document, or
a form's text fields and file names; the bytes of uploaded files are data, not SQL
values). It answers 422 in the common shape naming the first place, e.g.
`query.q: must not contain the NUL character (\\x00)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request, params
from starlette.datastructures import UploadFile

from api.errors import Unprocessable

NUL = "\x00"


def _message(loc: tuple[Any, ...]) -> str:
    return f"{'.'.join(str(p) for p in loc)}: must not contain the NUL character (\\x00)"


def _refuse(loc: tuple[Any, ...]) -> Unprocessable:
    msg = _message(loc)
    return Unprocessable(
        msg,
        code="validation_error",
        details=[{"loc": list(loc), "msg": msg.split(": ", 1)[1], "type": "string_nul"}],
    )


def _nul_in(value: Any, loc: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """Where NUL occurs in a parsed JSON value (keys count: they are stored too)."""
    if isinstance(value, str):
        if NUL in value:
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                yield (*loc, key)
            yield from _nul_in(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_in(item, (*loc, i))


async def _body_nul(request: Request) -> tuple[Any, ...] | None:
    """Where the body the route reads holds a NUL, if anywhere. Only a body FastAPI has
    read already (the route declares one) is looked at: nothing is read twice, and a
    route that streams its body keeps it."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    if field is None:
        return None
    if isinstance(field.field_info, params.Form):  # FastAPI parsed it: this is its cache
        form = await request.form()
        for name, value in form.multi_items():
            text = value.filename if isinstance(value, UploadFile) else value
            if NUL in name or (isinstance(text, str) and NUL in text):
                return ("body", name)
        return None
    raw = await request.body()  # cached by FastAPI's read
    # JSON writes NUL only as the escape \u0000 (a raw control character is invalid),
    # so a body without that text holds none: the common case costs one search.
    if b"\\u0000" not in raw:
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        return None  # not JSON: the route's own validation answers it
    return next(_nul_in(document, ("body",)), None)


async def refuse_nul(request: Request) -> None:
    """422 when a path or query parameter, or the parsed body, holds a NUL character.

    A coroutine doing no I/O (no thread hop): it runs before every route."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and NUL in value:
            raise _refuse(("path", name))
    query = request.scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in request.query_params.multi_items():
            if NUL in name or NUL in value:
                raise _refuse(("query", name.replace(NUL, "\\x00")))
    where = await _body_nul(request)
    if where is not None:
        raise _refuse(tuple(p.replace(NUL, "\\x00") if isinstance(p, str) else p for p in where))
