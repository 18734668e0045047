"""Atomic file writes (results appear whole under their final name or not at all) and image reads.

``read_rgb`` is the one way training and evaluation open an image: a missing, truncated or
non-image file raises ``ReidInputError`` naming it, never a bare PIL error from a loader worker.
"""
from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd
from PIL import Image

from dlcr_reid.errors import ReidInputError

# what PIL raises for a missing file, a truncated or corrupt image (OSError), a non-image or an
# image past the decompression-bomb limit (ValueError), and a PNG with broken chunks (SyntaxError)
UNREADABLE_ERRORS = (OSError, ValueError, SyntaxError)


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


def read_rgb(path: str | Path, what: str = "image") -> Image.Image:
    """The image at ``path`` fully decoded as RGB, or ReidInputError naming the file."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")  # convert decodes every pixel: truncation shows here
    except UNREADABLE_ERRORS as error:
        raise ReidInputError(f"cannot read {what} {path}: {error}") from None


def unreadable_files(paths: Sequence[str], workers: int = 4) -> list[str]:
    """The paths (in the order given) that cannot be decoded; threads, as PIL decodes without the GIL."""
    def fails(path: str) -> bool:
        try:
            read_rgb(path)
        except ReidInputError:
            return True
        return False

    unique = list(dict.fromkeys(paths))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        bad = {path for path, failed in zip(unique, pool.map(fails, unique)) if failed}
    return [path for path in unique if path in bad]
