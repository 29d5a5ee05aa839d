"""The errors shoprec raises on purpose; the CLI prints them as one line."""

from __future__ import annotations


class ShoprecError(Exception):
    """Base class: an error whose message is meant for the person running shoprec."""


class DataError(ShoprecError):
    """Input data that cannot be used, with where it came from."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        where = ":".join(str(p) for p in (file, line) if p is not None)
        prefix = f"{where}: " if where else ""
        if field:
            prefix += f"field '{field}': "
        super().__init__(prefix + message)
        self.file = file
        self.line = line
        self.field = field


class NotFittedError(ShoprecError):
    """A model was used before `fit` (or `load`)."""


class ConfigError(ShoprecError):
    """A setting or option has a value shoprec cannot use."""
