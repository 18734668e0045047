"""Per-row reuse for the upstream tables (descriptions, prompts, masks): keep rows whose fingerprint matches.

A step computes every row's fingerprint (dlcr_assets.fingerprint) first, then looks up the table of
its previous run (``previous``: a DataFrame, the path of the saved table, or None): a row whose key
and fingerprint match is kept as it is; the rest (new rows, and stale ones whose fingerprint changed)
are computed. ``table.attrs["run"]`` then says how many, with the generation engine's words:
rows, computed, skipped (kept), stale.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

Previous = pd.DataFrame | str | os.PathLike | None


def previous_table(previous: Previous) -> pd.DataFrame | None:
    """The previous run's table, or None when there is none (no path, or no file there yet)."""
    if previous is None or isinstance(previous, pd.DataFrame):
        return previous
    if not Path(previous).is_file():
        return None
    from dlcr_reid.io import load_table

    return load_table(previous, what="previous table (for per-row reuse)")


def recorded(previous: Previous, key: str) -> dict[str, dict]:
    """key -> previous row (as a dict) of every row that has a fingerprint (older tables have none)."""
    table = previous_table(previous)
    if table is None or table.empty or "fingerprint" not in table.columns or key not in table.columns:
        return {}
    table = table[table["fingerprint"].notna()]
    return {str(row[key]): row for row in table.to_dict("records")}


class Reuse:
    """Which rows of this run can be kept from ``previous`` (matched on ``key`` and fingerprint)."""

    def __init__(self, previous: Previous, key: str):
        self.old = recorded(previous, key)
        self.kept = 0
        self.stale = 0

    def get(self, key: str, value: str) -> dict | None:
        """The previous row of ``key`` when its fingerprint is ``value``; else None (and counts it stale)."""
        row = self.old.get(str(key))
        if row is not None and row["fingerprint"] == value:
            self.kept += 1
            return row
        if row is not None:
            self.stale += 1
        return None

    def report(self, table: pd.DataFrame, what: str) -> pd.DataFrame:
        """Log the counts and leave them in ``table.attrs["run"]``; returns the table."""
        rows = len(table)
        table.attrs["run"] = {"rows": rows, "computed": rows - self.kept, "skipped": self.kept, "stale": self.stale}
        log.info("%s: %d rows, %d kept (fingerprint unchanged), %d computed (%d stale: settings or inputs changed)",
                 what, rows, self.kept, rows - self.kept, self.stale)
        return table


__all__ = ["Previous", "Reuse", "previous_table", "recorded"]
