"""Which checkpoint a training run reports (SPEC §1.6): never chosen on the split it reports.

``training.selection``:

* ``last`` (default): the last epoch.
* ``val``: the epoch with the best score on the dataset's own validation split (rows
  ``val_query``/``val_gallery``: PRCC ``rgb/val``, LaST ``val/``, DeepChange ``val-set-*``).
* ``holdout``: ``training.holdout_ids`` training identities (a count, or a fraction when < 1) are
  moved out of the training split into ``val_query``/``val_gallery`` before training, so the model
  never sees them; the best epoch on them is chosen.

The score is CC top-1 where the format has a CC protocol, else general top-1. The test split is
evaluated only for the report and the curves; it is never an input here.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dlcr_reid.datasets.table import TRAIN_SPLIT, VAL_SPLITS
from dlcr_reid.errors import ReidInputError
from dlcr_reid.params.training import TrainingParams
from dlcr_reid.training.tracking import flatten


def scalar_metrics(evaluation: dict[str, Any], prefix: str = "eval_") -> dict[str, float]:
    """{"cc": {"top1": 40.1}} -> {"eval_cc_top1": 40.1} for every numeric leaf."""
    metrics = {}
    for key, value in flatten(evaluation).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            metrics[prefix + key.replace(".", "_")] = float(value)
    return metrics


def selection_score(evaluation: dict[str, Any]) -> float | None:
    """CC top-1 where a CC protocol ran (the format has one), else general top-1."""
    for protocol in ("cc", "general"):
        block = evaluation.get(protocol)
        if isinstance(block, dict) and isinstance(block.get("top1"), (int, float)):
            return float(block["top1"])
    return None


class Selection:
    """The reported checkpoint so far: its epoch, its val score (rules val/holdout) and its test evaluation."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.epoch: int | None = None
        self.val_score: float | None = None
        self.evaluation: dict[str, Any] | None = None  # on the TEST split: reported, never compared

    @property
    def test_score(self) -> float | None:
        return selection_score(self.evaluation) if self.evaluation else None

    def offer(self, epoch: int, evaluation: dict[str, Any] | None, val_score: float | None) -> bool:
        """Take epoch ``epoch`` (1-based) if the rule prefers it; only ``val_score`` is compared."""
        if self.rule != "last" and (val_score is None or (self.val_score is not None and val_score <= self.val_score)):
            return False
        self.epoch, self.evaluation = epoch, evaluation
        self.val_score = val_score if self.rule != "last" else None
        return True

    def record(self) -> dict[str, Any]:
        return {"rule": self.rule, "epoch": self.epoch, "val_score": self.val_score}

    def load(self, record: dict[str, Any], evaluation: dict[str, Any] | None) -> None:
        self.epoch, self.val_score, self.evaluation = record.get("epoch"), record.get("val_score"), evaluation


def hold_out(index: pd.DataFrame, params: TrainingParams) -> pd.DataFrame:
    """The index with ``holdout_ids`` training identities moved to val_query / val_gallery.

    Identities are drawn with ``training.seed``. Per held-out identity and outfit, the first image
    (by path) is a query and the rest are gallery, so each query has same- and other-outfit matches.
    The dataset's own validation rows, if any, are dropped: the held-out identities replace them.
    """
    index = index[~index["split"].isin(VAL_SPLITS)]
    train = index["split"] == TRAIN_SPLIT
    pids = np.sort(index.loc[train, "pid"].unique())
    count = int(params.holdout_ids) if params.holdout_ids >= 1 else int(round(params.holdout_ids * len(pids)))
    if not 1 <= count <= len(pids) - params.ids_per_batch:
        raise ReidInputError(
            f"training.holdout_ids={params.holdout_ids} holds out {count} of {len(pids)} training identities; "
            f"at least 1 must be held out and ids_per_batch={params.ids_per_batch} must remain"
        )
    held = set(np.random.default_rng(params.seed).choice(pids, size=count, replace=False).tolist())
    rows = index[train & index["pid"].isin(held)].sort_values("path", kind="stable")
    first = ~rows.duplicated(["pid", "clothes_id"])
    out = index.copy()
    out.loc[rows.index[first.to_numpy()], "split"] = VAL_SPLITS[0]
    out.loc[rows.index[~first.to_numpy()], "split"] = VAL_SPLITS[1]
    out.attrs = dict(index.attrs)
    return out


def validation_view(index: pd.DataFrame) -> pd.DataFrame:
    """The validation rows as a query/gallery index the evaluation reads (empty without any)."""
    rename = {VAL_SPLITS[0]: "query", VAL_SPLITS[1]: "gallery"}
    rows = index[index["split"].isin(VAL_SPLITS)]
    return rows.assign(split=rows["split"].map(rename)).reset_index(drop=True)


def validation_index(index: pd.DataFrame, params: TrainingParams, dataset: str) -> pd.DataFrame | None:
    """The validation view the rule selects on (None for ``last``); errors when the rule cannot run."""
    if params.selection == "last":
        return None
    if not params.eval_every:
        raise ReidInputError(f"training.selection={params.selection!r} selects at evaluations: set training.eval_every > 0")
    view = validation_view(index)
    if not (view["split"] == "query").any() or not (view["split"] == "gallery").any():
        raise ReidInputError(
            f"training.selection='val' but dataset {dataset!r} has no {list(VAL_SPLITS)} rows (PRCC, LaST and "
            "DeepChange have a validation split); use selection 'holdout' or 'last'"
        )
    return view


__all__ = ["Selection", "hold_out", "scalar_metrics", "selection_score", "validation_index", "validation_view"]
