"""CC-ReID datasets: one reader per format, a registry, and the index table they all produce.

``index_dataset(name, spec)`` is the indexing step (`dlcr dataset-index`); ``check_dataset`` validates a
dataset (`dlcr check-dataset`); ``write_synthetic_dataset`` draws the embedded dataset (`dlcr synthetic-dataset`).
"""
from __future__ import annotations

from typing import Any

from dlcr_reid.datasets.check import CheckReport, check_dataset
from dlcr_reid.datasets.registry import FORMATS, detect_format, index_dataset, register_format
from dlcr_reid.datasets.summary import summarize_index, summary_text


def write_synthetic_dataset(params: Any) -> dict:
    """Draw the embedded synthetic dataset (imported at call time: the generator is its own module)."""
    from dlcr_reid.datasets.synthesis import write_synthetic_dataset as write

    return write(params)


__all__ = [
    "FORMATS",
    "CheckReport",
    "check_dataset",
    "detect_format",
    "index_dataset",
    "register_format",
    "summarize_index",
    "summary_text",
    "write_synthetic_dataset",
]
