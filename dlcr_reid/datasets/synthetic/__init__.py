"""The embedded synthetic CC-ReID dataset: people (``people``), drawing (``render``), writing
(``write``) and reading it back as the ``synthetic`` format (``layout``).

Only the reader is imported here: the format registry needs it at start-up, while the writer
(numpy, PIL, scipy drawing) is imported when a dataset is drawn.
"""
from __future__ import annotations

from typing import Any

from dlcr_reid.datasets.synthetic.layout import FOLDER_NAMES, LAYOUT, PARSING_FOLDER, load_synthetic, synthetic_dir


def write_synthetic_dataset(params: Any) -> dict:
    """Draw the dataset described by ``params`` (a SyntheticParams) under ``params.root``; its summary."""
    from dlcr_reid.datasets.synthetic.write import write_synthetic_dataset as write

    return write(params)


__all__ = ["FOLDER_NAMES", "LAYOUT", "PARSING_FOLDER", "load_synthetic", "synthetic_dir", "write_synthetic_dataset"]
