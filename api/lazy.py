"""Modules imported on first use.

`import api.main` is what a Lambda cold start pays before it can answer anything, and
SQLAlchemy with our models is most of what the API would load: routes reach services
(and through them the database layer) through `lazy_module`, so the app is built without
them and they load on the first request that needs them.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule:
    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            # import_module holds the import lock: concurrent first calls get one module.
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    """A stand-in for module `name` that imports it on first attribute access.

    Declare it under `if TYPE_CHECKING:` with the real import, so type checkers see the module.
    """
    return _LazyModule(name)
