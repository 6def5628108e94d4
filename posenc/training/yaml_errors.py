"""YAML loading that remembers where every key came from, so config errors can say
``configs/pretrain/tiny.yaml:12: model.hiden_size: unknown key ...``.

Also fixes a PyYAML trap: YAML 1.1 reads ``1e-4`` (no dot) as a *string*; learning rates are
written that way all the time, so the loader here resolves it as a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader whose float resolver also accepts ``1e-4`` and ``5E3``."""


_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


@dataclass(frozen=True)
class Problem:
    """One config error: where (file:line or command-line override), which key, what is wrong."""

    where: str
    key: str
    message: str

    def __str__(self) -> str:
        key = f"{self.key}: " if self.key else ""
        return f"{self.where}: {key}{self.message}"


class ConfigError(ValueError):
    """All problems found in one config, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def parse_scalar(text: str) -> Any:
    """A command-line value the way YAML would read it (``1e-4`` → float, ``null`` → None)."""
    return yaml.load(text, Loader=_Loader) if text.strip() else ""


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read as a config file, with the fix; None when it can."""
    if path.is_dir():
        inside = sorted(path.rglob("*.y*ml"))[:3]
        hint = f", e.g. {' or '.join(str(p) for p in inside)}" if inside else ""
        return f"is a directory, not a config file; pass a YAML file{hint}"
    if not path.exists():
        near = sorted(p.name for p in path.parent.glob("*.y*ml"))[:8] if path.parent.is_dir() else []
        from ..registry import did_you_mean
        return f"no such config file.{did_you_mean(path.name, near)}"
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    return None


def load_yaml(path: str | Path) -> tuple[dict, dict[str, str], list[Problem]]:
    """Read ``path`` → (data, locations, problems).

    ``locations`` maps dotted key paths (``model.position.name``) to ``"file:line"``. Duplicate keys,
    which PyYAML silently resolves to the last value, are reported as problems.
    """
    path = Path(path)
    problems: list[Problem] = []
    locations: dict[str, str] = {"": f"{path}:1"}
    unreadable = _unreadable(path)
    if unreadable:
        return {}, {"": str(path)}, [Problem(str(path), "", unreadable)]
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return {}, locations, [Problem(f"{path}:{line}", "", f"invalid YAML: {getattr(e, 'problem', e)}")]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return {}, locations, [Problem(f"{path}:1", "", "a config must be a YAML mapping (key: value lines)")]

    def walk(n, prefix: str) -> None:
        if isinstance(n, yaml.SequenceNode):  # list items are located as key.0, key.1, ...
            for i, item in enumerate(n.value):
                locations[f"{prefix}.{i}"] = f"{path}:{item.start_mark.line + 1}"
                walk(item, f"{prefix}.{i}")
            return
        if not isinstance(n, yaml.MappingNode):
            return
        seen: set[str] = set()
        for knode, vnode in n.value:
            key = f"{prefix}.{knode.value}" if prefix else str(knode.value)
            where = f"{path}:{knode.start_mark.line + 1}"
            if key in seen:
                problems.append(Problem(where, key, "duplicate key (YAML would silently keep only the last one)"))
            seen.add(key)
            locations[key] = where
            walk(vnode, key)

    walk(node, "")
    return data, locations, problems


def apply_override(data: dict, locations: dict[str, str], override: str) -> Problem | None:
    """Apply one ``key.sub=value`` override in place; unknown keys are caught later by the schema."""
    if "=" not in override:
        return Problem("command line", "", f"override {override!r} must look like key.sub=value")
    key, _, raw = override.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not all(parts):
        return Problem("command line", key, f"override {override!r} has an empty key part")
    try:
        value = parse_scalar(raw)
    except yaml.YAMLError as e:
        return Problem("command line", key, f"cannot parse value {raw!r}: {e}")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None or isinstance(child, str) and i < len(parts) - 1:
            # e.g. position: t5 overridden by position.max_distance=64 → {name: t5, max_distance: 64}
            child = {"name": child} if isinstance(child, str) else {}
            node[part] = child
        if not isinstance(child, dict):
            return Problem("command line", key, f"{'.'.join(parts[: i + 1])} is not a section")
        node = child
    node[parts[-1]] = value
    locations[key] = f"command line ({override})"
    return None
