"""Packaging: a wheel built from the tree ships every bundled data file and task spec (packages
are discovered, not listed), and building it prints no setuptools warnings."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_files() -> set[str]:
    """Every non-Python file under posenc/ and tasks/ as the wheel must name it."""
    out = set()
    for top, prefix in (("posenc", "posenc"), ("tasks", "posenc/tasks")):
        for f in (REPO / top).rglob("*"):
            rel = f.relative_to(REPO / top)
            if f.is_file() and f.suffix not in (".py", ".pyc") and "__pycache__" not in rel.parts:
                out.add(f"{prefix}/{rel.as_posix()}")
    return out


def test_wheel_ships_every_data_file_without_warnings(tmp_path):
    pytest.importorskip("setuptools", minversion="77")
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v",
                        "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    backend = [line for line in (p.stdout + p.stderr).splitlines() if "Warning" in line]
    assert backend == [], "\n".join(backend[:20])
    (wheel,) = tmp_path.glob("posenc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = _data_files()
    assert {"posenc/resources/glue/RTE/train.tsv", "posenc/tasks/glue/rte.yaml"} <= data
    assert sorted(data - names) == []
    assert "posenc/tasks/__init__.py" in names and "posenc/training/config.py" in names


def test_no_file_cites_documents_outside_the_repository():
    """Comments and docs cite papers (author, year, section) or docs/ in the repository, never the
    development notes that are not shipped with it."""
    import re

    pattern = re.compile(r"paper\.md|ECOSYSTEM\.md")
    own = Path(__file__).resolve()
    offenders = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if not (d.startswith(".") or d in ("build", "runs", "__pycache__")
                                           or d.endswith("egg-info"))]
        for name in files:
            f = Path(root) / name
            if f == own or f.suffix not in (".py", ".md", ".yaml", ".yml", ".toml", ".txt", ""):
                continue
            for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{f.relative_to(REPO)}:{n}: {line.strip()[:100]}")
    assert offenders == [], "\n".join(offenders)


def test_every_dependency_is_used():
    """Each runtime dependency is imported by posenc (or the task package), or says why not."""
    import re
    import tomllib

    import_names = {"scikit-learn": "sklearn", "pyyaml": "yaml", "protobuf": "google.protobuf"}
    not_imported = {"protobuf"}  # see the comment next to it in pyproject.toml
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    sources = "\n".join(f.read_text() for top in ("posenc", "tasks") for f in (REPO / top).rglob("*.py"))
    unused = []
    for dep in deps:
        name = re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].lower()
        module = import_names.get(name, name.replace("-", "_"))
        if name not in not_imported and not re.search(rf"^\s*(import|from) {re.escape(module)}\b", sources, re.M):
            unused.append(name)
    assert unused == []
