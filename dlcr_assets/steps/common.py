"""What every step shares: its result record, the dataset's layout, and the checks at the door."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.layout import MODES, DatasetPaths, resolve_dataset


@dataclass
class StepRun:
    """What a step wrote: its main table (or result), the dataset's layout, and extras for reporting."""

    result: Any
    paths: DatasetPaths
    extra: dict[str, Any]


# --- validation at the door --------------------------------------------------------------------

def layout(params, dataset: str) -> DatasetPaths:
    """The dataset's path layout; a bad name is a StepInputError naming the allowed characters."""
    try:
        return DatasetPaths(params.data_dir, dataset)
    except ValueError as error:
        raise StepInputError(f"dataset: {error}") from None


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise StepInputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


def parse_shard(text: str | None, shards: int) -> tuple[int, int]:
    """``"k/n"`` -> (k, n); empty -> shard 0 of ``shards`` (params' generation.shards)."""
    if not text:
        return check_shard(0, shards)
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise StepInputError(f"shard {text!r}: expected k/n with 0 <= k < n, e.g. 0/4") from None
    return check_shard(k, n)


def check_shard(k: int, n: int) -> tuple[int, int]:
    if not 0 <= k < n:
        raise StepInputError(f"shard {k}/{n}: expected k/n with 0 <= k < n (generation.shards), e.g. 0/4")
    return (k, n)


# --- the facts each step needs, resolved once ----------------------------------------------------

def dataset_spec(params, dataset: str):
    """The DatasetSpec (params.yaml, else a watched folder), or None for a dataset indexed by --root."""
    try:
        return resolve_dataset(params, dataset)
    except KeyError:
        return None


def dataset_format(params, dataset: str) -> str | None:
    """params.yaml's format, else the detected one; None lets evaluation infer it from the index."""
    spec = dataset_spec(params, dataset)
    return None if spec is None else spec.format


def dataset_root(params, dataset: str) -> Path | None:
    """The dataset's registered (or watched) root; a parsing_root's mirrored paths are relative to it."""
    spec = dataset_spec(params, dataset)
    return None if spec is None else Path(spec.root)


def load_input(path: Path, what: str, command: str) -> pd.DataFrame:
    from dlcr_reid.io import load_table

    return load_table(path, f"{what} (`dlcr {command}`)")


# --- the steps (each named as its Dagster asset, DVC stage and `dlcr` command) -------------------
