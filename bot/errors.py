"""The project's own exception types; actions catch :class:`BotError` at the boundary."""

from __future__ import annotations

from pathlib import Path


class BotError(Exception):
    """Base class of every error the ``bot`` package raises on purpose."""


class ConfigError(BotError):
    """A setting is missing or has a value that cannot be used."""


class ArchiveFormatError(BotError):
    """An archive file cannot be read; names the file and the line."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class IndexUnavailableError(BotError):
    """The archive index is missing, unreadable or not an index built by this project."""


class ServiceError(BotError):
    """A remote HTTP service failed or did not answer in time."""
