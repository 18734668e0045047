"""Benchmark results kept as JSON under ``benchmarks/results/``, one entry per named case.

A script records what it measured (``record``) and ``scripts/readme_tables.py`` writes the tables
of ``benchmarks/README.md`` from these files, so no figure there is typed by hand. A rerun of a
case replaces that case only; the file is written atomically.
"""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "load_average": [round(x, 1) for x in os.getloadavg()]}


def record(path: Path, name: str, entry: dict) -> None:
    """Store ``entry`` (plus the machine and its load now) as case ``name`` of the JSON file ``path``."""
    data = read(path)
    data["cases"][name] = {**entry, **machine()}
    write(path, data)
    print(f"recorded as case {name!r} in {path}")


def read(path: Path) -> dict:
    """A results file, or an empty one (no case yet)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else {"cases": {}}


def write(path: Path, data: dict) -> None:
    """Write a results file atomically (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def case(path: Path, name: str) -> dict:
    data = json.loads(Path(path).read_text())
    if name not in data["cases"]:
        raise KeyError(f"{path}: no case {name!r} (recorded: {', '.join(data['cases']) or 'none'})")
    return data["cases"][name]


def number(value, digits: int = 2) -> str:
    """A table cell: blank for a missing value (None or NaN)."""
    return "" if value is None or value != value else f"{value:.{digits}f}"
