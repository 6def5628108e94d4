"""Packaging: a wheel built from the tree ships every bundled data file and task spec (packages
are discovered, not listed), and building it prints no setuptools warnings."""

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
    for f in sorted(REPO.rglob("*")):
        rel = f.relative_to(REPO)
        if (not f.is_file() or f == own or f.suffix not in (".py", ".md", ".yaml", ".yml", ".toml", ".txt", "")
                or any(part.startswith(".") or part in ("build", "runs", "__pycache__") or part.endswith("egg-info")
                       for part in rel.parts)):
            continue
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()[:100]}")
    assert offenders == [], "\n".join(offenders)
