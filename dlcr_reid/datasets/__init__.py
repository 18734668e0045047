"""CC-ReID datasets: one reader per format, a registry, and the index table they all produce.

``index_dataset(name, spec)`` is the indexing step (`dlcr dataset-index`); ``check_dataset`` validates a
dataset (`dlcr check-dataset`); ``write_synthetic_dataset`` draws the embedded dataset (`dlcr synthetic-dataset`).
"""
from __future__ import annotations

from dlcr_reid.datasets.check import CheckReport, check_dataset
from dlcr_reid.datasets.registry import FORMATS, detect_format, index_dataset, register_format
from dlcr_reid.datasets.summary import summarize_index, summary_text
from dlcr_reid.datasets.synthetic import write_synthetic_dataset  # the writer itself loads on call


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
