"""Atomic file writes: results appear whole under their final name or not at all."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as parquet atomically and return its path."""
    path = Path(path)
    with atomic_write(path) as tmp:
        table.to_parquet(tmp, index=False)
    return path


def load_table(path: str | Path, what: str = "table") -> pd.DataFrame:
    """Read a parquet table, or raise FileNotFoundError saying which step produces it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found at {path}; run the step that writes it first")
    return pd.read_parquet(path)
