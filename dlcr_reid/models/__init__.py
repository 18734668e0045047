"""ReID models: build the CAL model from the training params, load a trained checkpoint."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from dlcr_reid.errors import ReidInputError
from dlcr_reid.models.cal import BACKBONE_CHANNELS, CALModel, CosineClassifier
from dlcr_reid.params.training import TrainingParams


def build_model(params: TrainingParams, num_ids: int, weights: str | None = None) -> CALModel:
    """The CAL model for ``num_ids`` training identities (``weights`` overrides params.weights)."""
    model = CALModel(params.backbone, num_ids=num_ids, weights=params.weights if weights is None else weights)
    model.input_size = (params.height, params.width)  # evaluation resizes its inputs to this
    return model


def build_clothes_classifier(feature_dim: int, num_clothes: int) -> CosineClassifier:
    return CosineClassifier(feature_dim, num_clothes)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[CALModel, dict[str, Any]]:
    """Load ``<name>.safetensors`` + ``<name>.json`` into an eval-mode CALModel; returns (model, meta).

    ``path`` may name the .safetensors file, the .json file, or the common stem.
    """
    from safetensors.torch import load_file

    stem = Path(path)
    if stem.suffix in (".safetensors", ".json"):
        stem = stem.with_suffix("")
    weights_path, meta_path = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    for needed in (weights_path, meta_path):
        if not needed.is_file():
            raise ReidInputError(f"checkpoint file {needed} not found (a checkpoint is <name>.safetensors + <name>.json)")
    meta = json.loads(meta_path.read_text())
    state = load_file(str(weights_path))
    model = CALModel(meta["backbone"], num_ids=int(meta["num_ids"]), weights="none")
    model_state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    model.load_state_dict(model_state)
    if meta.get("input_size"):
        model.input_size = tuple(int(v) for v in meta["input_size"])
    return model.to(device).eval(), meta


__all__ = [
    "BACKBONE_CHANNELS",
    "CALModel",
    "CosineClassifier",
    "build_clothes_classifier",
    "build_model",
    "load_checkpoint",
]
