"""A generation plan held as columns: ``PlannedImage`` objects are made only for the images that need one.

A 2M-image plan read back from the plan cache is a pyarrow table; building 2M Python objects from
it would cost more than the read. ``ColumnarPlan`` is a read-only sequence of ``PlannedImage``
over that table: the resume phases read whole columns (``plan_column``), and only the images still
to generate (or to adopt) become objects. A plain ``list[PlannedImage]`` (a fresh plan, a caller's
plan) is a plan too: ``plan_column``, ``set_plan_fingerprints`` and ``plan_images`` work on both.
"""
from __future__ import annotations

import gc
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import fields

from dlcr_assets.generation.planning import PlannedImage

COLUMNS = [f.name for f in fields(PlannedImage)]
# columns with few distinct values (a source's variants share its paths; outfits repeat): one Python
# string per distinct value, not one per planned image
SHARED = ["source_path", "key", "outfit_key", "prompt", "mask_path", "parsing_path", "mask_status"]


@contextmanager
def gc_paused():
    """Millions of new plan objects with no cycles: the cyclic GC would rescan them again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _values(array) -> list:
    """A pyarrow array as a Python list; a dictionary array without nulls by indexing its distinct values."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type) and array.null_count == 0:
        distinct = array.dictionary.to_pylist()
        return [distinct[i] for i in array.indices.to_numpy(zero_copy_only=False).tolist()]
    return array.to_pylist()


class ColumnarPlan(Sequence):
    """A read-only plan over a pyarrow table with PlannedImage's columns (``fingerprint`` may be absent)."""

    def __init__(self, table):
        self._table = table
        self._lists: dict[str, list] = {}
        self._fingerprints: list | None = None

    def column(self, name: str) -> list:
        """One column as a Python list (converted once, then kept)."""
        if name == "fingerprint":
            return self._fingerprints if self._fingerprints is not None else [None] * len(self)
        if name not in self._lists:
            self._lists[name] = _values(self._table[name])
        return self._lists[name]

    def set_fingerprints(self, values: list) -> None:
        if len(values) != len(self):
            raise ValueError(f"{len(values)} fingerprints for a plan of {len(self)} images")
        self._fingerprints = list(values)

    def __len__(self) -> int:
        return self._table.num_rows

    def __getitem__(self, item):
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        if item < 0:
            item += len(self)
        if not 0 <= item < len(self):
            raise IndexError(item)
        return self.image(item)

    def image(self, row: int) -> PlannedImage:
        return PlannedImage(*(self.column(name)[row] for name in COLUMNS))

    def images(self, rows) -> list[PlannedImage]:
        """The PlannedImage objects of ``rows`` (column lookups hoisted out of the loop)."""
        columns = [self.column(name) for name in COLUMNS]
        with gc_paused():
            return [PlannedImage(*(column[row] for column in columns)) for row in rows]

    def __iter__(self):
        return iter(self.images(range(len(self))))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(other) == len(self) and all(plan_column(self, name) == plan_column(other, name) for name in COLUMNS)

    __hash__ = None

    def __repr__(self) -> str:
        return f"ColumnarPlan({len(self)} images)"


def plan_column(plan: Sequence[PlannedImage], name: str) -> list:
    """Column ``name`` of a plan, columnar or a list of PlannedImage."""
    if isinstance(plan, ColumnarPlan):
        return plan.column(name)
    return [getattr(job, name) for job in plan]


def set_plan_fingerprints(plan: Sequence[PlannedImage], values: list) -> None:
    if isinstance(plan, ColumnarPlan):
        plan.set_fingerprints(values)
        return
    for job, value in zip(plan, values):
        job.fingerprint = value


def plan_images(plan: Sequence[PlannedImage], rows: list[int]) -> list[PlannedImage]:
    """The planned images at ``rows``, as objects (the same objects for a list plan)."""
    if isinstance(plan, ColumnarPlan):
        return plan.images(rows)
    return [plan[row] for row in rows]


__all__ = ["ColumnarPlan", "plan_column", "plan_images", "set_plan_fingerprints"]
