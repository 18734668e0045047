"""Fingerprints: short digests of everything that determines a derived row, so a rerun can tell stale rows.

A step builds one dict of the settings that determine its output (backend, model id and revision,
sampler settings, ...) plus the content digests of its input files, and records ``fingerprint(...)``
of it in each row. A rerun recomputes the fingerprint and redoes exactly the rows whose recorded
value differs. ``FileDigests`` hashes file contents once and remembers the digest by (path, size,
mtime), in memory and optionally in a small parquet cache, so a resume does not reread every input.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

DIGEST_SIZE = 8  # bytes: 16 hex characters; collisions are irrelevant at 1e7 rows
MISSING = "missing"  # the digest of a file that does not exist (the row then fails on its own)


def fingerprint(settings: dict, size: int = DIGEST_SIZE) -> str:
    """A hex digest of ``settings`` that is the same on every machine: keys sorted, compact JSON.

    Values must be JSON-representable (str, int, float, bool, None, lists, dicts); anything else is
    written with ``str`` so that a Path and its text give the same digest.
    """
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


def extend(base: str, *parts: object, size: int = DIGEST_SIZE) -> str:
    """``base`` (a settings fingerprint) extended with per-row parts: cheap enough for millions of rows."""
    text = "\x1f".join([base, *map(str, parts)])
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


def extend_rows(bases: list[str], *columns: list, size: int = DIGEST_SIZE) -> list[str]:
    """``extend(bases[i], columns[0][i], ...)`` for every row, without a call per row (~1.5 us a row)."""
    blake2b, sep = hashlib.blake2b, "\x1f"
    if len(columns) == 2:  # the common case (e.g. prompt, seed), spelled out: it is the hot loop of a resume
        return [blake2b(f"{b}{sep}{x}{sep}{y}".encode(), digest_size=size).hexdigest()
                for b, x, y in zip(bases, *columns)]
    return [blake2b(sep.join(map(str, row)).encode(), digest_size=size).hexdigest() for row in zip(bases, *columns)]


def content_digest(path: str | os.PathLike, size: int = DIGEST_SIZE) -> str:
    """The digest of a file's bytes."""
    digest = hashlib.blake2b(digest_size=size)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FileDigests:
    """Content digests of input files, rehashed only when a file's size or mtime changed.

    With ``cache_path`` the known digests survive between runs (written atomically by ``save``), so
    a resume costs one ``stat`` per input file instead of reading it.
    """

    COLUMNS = ["path", "size", "mtime_ns", "digest"]

    def __init__(self, cache_path: str | os.PathLike | None = None):
        self.cache_path = Path(cache_path) if cache_path else None
        self.known: dict[str, tuple[int, int, str]] = {}
        self.changed = False
        if self.cache_path and self.cache_path.is_file():
            table = pd.read_parquet(self.cache_path)
            self.known = {p: (int(s), int(m), d) for p, s, m, d in
                          zip(table["path"], table["size"], table["mtime_ns"], table["digest"])}

    def __call__(self, path: str | os.PathLike | None) -> str | None:
        """The content digest of ``path`` (None for no file, ``MISSING`` when it does not exist)."""
        if path is None:
            return None
        key = str(path)
        try:
            stat = os.stat(key)
        except OSError:
            return MISSING
        known = self.known.get(key)
        if known is not None and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            return known[2]
        digest = content_digest(key)
        self.known[key] = (stat.st_size, stat.st_mtime_ns, digest)
        self.changed = True
        return digest

    def save(self) -> None:
        if not (self.cache_path and self.changed):
            return
        from dlcr_reid.io import save_table

        rows = [(p, s, m, d) for p, (s, m, d) in self.known.items()]
        save_table(pd.DataFrame(rows, columns=self.COLUMNS), self.cache_path)
        self.changed = False


__all__ = ["DIGEST_SIZE", "MISSING", "FileDigests", "content_digest", "extend", "extend_rows", "fingerprint"]
