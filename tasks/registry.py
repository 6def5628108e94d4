"""The task registry: every ``tasks/**/*.yaml`` (not starting with ``_``) under its file name.

Registration only records paths; a spec is parsed and validated the first time it is asked for.
``get_task`` also accepts spelling variants (``"SST-2"``, ``"STS-B"``, ``"MNLI"``) and a path to
a user's own ``.yaml`` file.
"""

from __future__ import annotations

from pathlib import Path

from posenc.registry import Registry, UnknownNameError

from .spec import TaskSpec, load_task_spec

TASKS: Registry[object] = Registry("task")  # name -> Path of its YAML, or a TaskSpec
_CACHE: dict[str, TaskSpec] = {}
TASK_DIR = Path(__file__).resolve().parent


def _register_builtin() -> None:
    for path in sorted(TASK_DIR.rglob("*.yaml")):
        if not path.name.startswith("_"):
            TASKS.register(path.stem, path)


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _resolve(name: str) -> str:
    if name in TASKS:
        return name
    matches = [n for n in TASKS.names() if _key(n) == _key(name)]
    return matches[0] if len(matches) == 1 else name


def task_path(name: str) -> Path:
    """The YAML file a registered task was loaded from."""
    entry = TASKS.get(_resolve(name))
    if isinstance(entry, TaskSpec):
        if entry.source_file is None:
            raise UnknownNameError(f"task {name!r} was registered from a TaskSpec, not a file")
        return Path(entry.source_file)
    return entry


def get_task(name: str | Path | TaskSpec) -> TaskSpec:
    """A registered task's spec (``"rte"``, ``"SST-2"``), a spec file path, or ``name`` itself if
    it is already a :class:`TaskSpec`. Unknown names raise ``UnknownNameError`` with close matches."""
    if isinstance(name, TaskSpec):
        return name
    text = str(name)
    if text.endswith((".yaml", ".yml")):
        return load_task_spec(text)
    key = _resolve(text)
    entry = TASKS.get(key)
    if isinstance(entry, TaskSpec):
        return entry
    if key not in _CACHE:
        _CACHE[key] = load_task_spec(entry)
        if _CACHE[key].name != key:
            spec = _CACHE.pop(key)
            raise ValueError(f"{entry}: task file declares name {spec.name!r} but is registered as {key!r} "
                             "(its file name); make them equal")
    return _CACHE[key]


def list_tasks(pattern: str = "*") -> list[str]:
    """Registered task names matching a wildcard (``"*"``, ``"m*"``, ``"rte,wnli"``)."""
    return TASKS.list(pattern)


def register_task(spec: TaskSpec | str | Path, *, overwrite: bool = False) -> TaskSpec:
    """Add a user's task (a spec or a YAML path) so ``get_task(name)`` finds it."""
    if not isinstance(spec, TaskSpec):
        spec = load_task_spec(spec)
    TASKS.register(spec.name, spec, overwrite=overwrite)
    _CACHE.pop(spec.name, None)
    return spec


def validate_task_files(paths=None) -> tuple[int, list[str]]:
    """Load every task YAML under ``paths`` (files or folders, recursively; default: the built-in
    tasks) and collect the errors instead of stopping at the first. Returns (files checked, errors
    as ``file:line: message``). Files starting with ``_`` are include-only bases and are skipped."""
    files: list[Path] = []
    for p in [Path(x) for x in (paths or [TASK_DIR])]:
        found = sorted(p.rglob("*.yaml")) + sorted(p.rglob("*.yml")) if p.is_dir() else [p]
        files += [f for f in found if not f.name.startswith("_")]
    errors = []
    for f in files:
        try:
            load_task_spec(f)
        except (ValueError, FileNotFoundError) as e:
            errors.append(str(e))
    return len(files), errors


_register_builtin()
