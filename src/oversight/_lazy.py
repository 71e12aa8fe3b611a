"""Lazy re-exports for packages whose modules import heavy libraries (numpy, sklearn, statsmodels)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: dict[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps a module to the names it gives.

    A module named ``records`` means ``oversight.schemas`` (where every record lives); any
    other is a submodule of ``package``. A name is imported on first use, then cached.
    """
    namespace = importlib.import_module(package).__dict__
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        path = "oversight.schemas" if module == "records" else f"{package}.{module}"
        value = getattr(importlib.import_module(path), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
