"""The generation manifest: one row per generated image, appended in part files and merged.

A run appends rows to ``<out_dir>/manifest/shard-<k>-of-<n>/part-<NNNNN>.parquet`` (each part
written atomically, after the images it lists are on disk), so a killed run loses no finished
image; ``merge_manifest`` unions the merged table and all parts (later rows and ``ok`` rows win
for the same (source_path, variant)) into ``manifest_path``. ``fingerprint`` (see
dlcr_assets.fingerprint) digests everything that determined the row's pixels; a manifest written
before fingerprints existed has none, and its rows count as stale.
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from dlcr_reid.io import save_table

MANIFEST_COLUMNS = ["dataset", "source_path", "variant", "outfit_key", "prompt", "seed", "backend",
                    "model_id", "path", "status", "error", "fingerprint"]


def empty_manifest() -> pd.DataFrame:
    return as_manifest(pd.DataFrame(columns=MANIFEST_COLUMNS))


def as_manifest(table: pd.DataFrame) -> pd.DataFrame:
    table = table.reindex(columns=MANIFEST_COLUMNS)
    table["variant"] = table["variant"].astype("int64")
    table["seed"] = table["seed"].astype("int64")
    for column in MANIFEST_COLUMNS:
        if column not in ("variant", "seed"):
            table[column] = table[column].astype(object)
    return table


def part_files(out_dir: Path) -> list[Path]:
    return sorted(Path(out_dir, "manifest").glob("shard-*-of-*/part-*.parquet"))


def read_all_rows(out_dir: Path, manifest_path: Path) -> pd.DataFrame:
    """The merged manifest (if any) followed by every part file, not yet de-duplicated."""
    tables = [pd.read_parquet(manifest_path)] if Path(manifest_path).is_file() else []
    tables += [pd.read_parquet(part) for part in part_files(out_dir)]
    tables = [t for t in tables if len(t)]
    return as_manifest(pd.concat(tables, ignore_index=True)) if tables else empty_manifest()


# what ``ok_manifest_fingerprints`` gives for an image whose latest row failed with another fingerprint
FAILED = "failed"


def ok_manifest_paths(out_dir: Path, manifest_path: Path) -> set[str]:
    """Paths of images the merged manifest or any part lists as ok."""
    return {path for path, value in ok_manifest_fingerprints(out_dir, manifest_path).items() if value != FAILED}


def ok_manifest_fingerprints(out_dir: Path, manifest_path: Path) -> dict[str, str | None]:
    """path -> fingerprint of every image listed as ok, or ``FAILED``, by the rule of ``deduplicate``.

    Reads three columns only (fast at 2M rows); a file without the fingerprint column (written before
    fingerprints) gives None, which never matches. Relies on a path appearing once per file (the
    merged manifest and compacted parts are deduplicated; a run writes each image once).
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = ([Path(manifest_path)] if Path(manifest_path).is_file() else []) + part_files(out_dir)
    known: dict[str, str | None] = {}
    for file in files:
        has_fingerprints = "fingerprint" in pq.read_schema(file).names
        # pyarrow straight to Python lists: a third faster than through pandas at 2M rows
        table = pq.read_table(file, columns=["path", "status", "fingerprint"] if has_fingerprints else ["path", "status"])
        is_ok = pc.equal(table["status"], "ok")
        ok, failed = table.filter(is_ok), table.filter(pc.invert(is_ok))
        fingerprints = ok["fingerprint"].to_pylist() if has_fingerprints else [None] * ok.num_rows
        known.update(zip(ok["path"].to_pylist(), fingerprints))
        failed_fingerprints = failed["fingerprint"].to_pylist() if has_fingerprints else [None] * failed.num_rows
        for path, value in zip(failed["path"].to_pylist(), failed_fingerprints):
            if path not in known or known[path] != value:  # an ok row of the same fingerprint stays
                known[path] = FAILED
    return known


def deduplicate(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (source_path, variant).

    Among rows of one fingerprint an ok row beats a failed one (a retry that failed does not hide a
    good image); across fingerprints the later row wins, so a failed regeneration of a stale image
    does not leave the stale one listed as ok.
    """
    if rows.empty:
        return rows
    ranked = rows.assign(_ok=(rows["status"] == "ok").astype(int), _order=range(len(rows)),
                         _fingerprint=rows["fingerprint"].fillna("").astype(str))
    ranked = ranked.sort_values(["_ok", "_order"], kind="stable")
    ranked = ranked.drop_duplicates(["source_path", "variant", "_fingerprint"], keep="last")
    kept = ranked.sort_values("_order", kind="stable").drop_duplicates(["source_path", "variant"], keep="last")
    kept = kept.sort_values(["source_path", "variant"], kind="stable")
    return kept.drop(columns=["_ok", "_order", "_fingerprint"]).reset_index(drop=True)


def merge_manifest(out_dir: Path, manifest_path: Path) -> pd.DataFrame:
    """Union of the merged manifest and all shard parts, de-duplicated, written to ``manifest_path``."""
    merged = deduplicate(read_all_rows(out_dir, manifest_path))
    save_table(merged, manifest_path)
    return merged


class PartWriter:
    """Appends manifest rows of one shard as numbered part files (atomic each).

    Rows are flushed every ``flush_rows`` rows or ``flush_seconds`` seconds, whichever comes first:
    a kill loses at most that many rows, and their images are adopted by the next run anyway.
    """

    def __init__(self, out_dir: Path, shard: tuple[int, int], flush_rows: int = 512, flush_seconds: float = 30.0):
        self.folder = Path(out_dir, "manifest", f"shard-{shard[0]}-of-{shard[1]}")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.next_number = max(self._numbers(), default=-1) + 1
        self.rows: list[dict] = []
        self.flush_rows, self.flush_seconds = flush_rows, flush_seconds
        self.last_flush = time.monotonic()

    def _numbers(self) -> list[int]:
        return [int(p.stem.split("-")[1]) for p in self.folder.glob("part-*.parquet")]

    def add(self, rows: list[dict]) -> None:
        self.rows.extend(rows)

    def flush_if_due(self) -> None:
        if len(self.rows) >= self.flush_rows or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.rows:
            return
        save_table(as_manifest(pd.DataFrame.from_records(self.rows)), self.folder / f"part-{self.next_number:05d}.parquet")
        self.next_number += 1
        self.rows = []

    def compact(self) -> None:
        """Fold this shard's parts into one (written before the old ones go, so no row is ever missing)."""
        self.flush()
        parts = sorted(self.folder.glob("part-*.parquet"))
        if len(parts) <= 1:
            return
        merged = deduplicate(as_manifest(pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)))
        save_table(merged, self.folder / f"part-{self.next_number:05d}.parquet")
        self.next_number += 1
        for part in parts:
            part.unlink()
