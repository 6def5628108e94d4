"""A small generic registry: decorator registration, wildcard listing, helpful errors.

Used for position encodings, segment encodings, tasks, metrics and report exporters, so
every "unknown name" error in posenc reads the same way::

    UnknownNameError: unknown position encoding 'diet_ab'. Did you mean 'diet_abs'?
    Known: absolute, alibi, deberta, diet_abs, ...
"""

from __future__ import annotations

import difflib
import fnmatch
from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """An unknown registry name; the message lists the closest matches and every known name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(ValueError):
    """A name registered twice in the same registry."""


def close_matches(name: str, candidates: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """Closest candidates to ``name`` (difflib ratio ≥ 0.5), best first."""
    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)


def did_you_mean(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    """`` Did you mean 'x'?`` or the empty string."""
    matches = close_matches(name, candidates)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


class Registry(Generic[T]):
    """Name → object map filled by the :meth:`register` decorator.

    ``kind`` names what is registered ("position encoding", "task", ...) and appears in errors.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None, *, overwrite: bool = False):
        """Register ``obj`` under ``name``; usable as ``@registry.register("name")``."""

        def _add(o: T) -> T:
            if not name or not isinstance(name, str):
                raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
            if name in self._entries and not overwrite and self._entries[name] is not o:
                raise DuplicateNameError(
                    f"{self.kind} {name!r} is already registered (by {self._entries[name]!r}); "
                    "pick another name or pass overwrite=True"
                )
            self._entries[name] = o
            return o

        if obj is not None:
            return _add(obj)
        return _add

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._entries)) or "(none registered)"
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}.{did_you_mean(str(name), self.names())} Known: {known}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def list(self, pattern: str = "*") -> list[str]:
        """Sorted names matching a shell-style wildcard (``"diet*"``); several patterns may be
        separated by commas."""
        pats = [p.strip() for p in pattern.split(",") if p.strip()] or ["*"]
        return [n for n in self.names() if any(fnmatch.fnmatchcase(n, p) for p in pats)]

    def items(self) -> Iterator[tuple[str, T]]:
        for n in self.names():
            yield n, self._entries[n]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
