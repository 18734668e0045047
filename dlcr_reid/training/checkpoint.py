"""Checkpoints on disk: <name>.safetensors (weights) + <name>.json (config, label maps) + <name>.state.pt.

The ``.state.pt`` file holds what an exact resume needs besides weights (optimiser and grad-scaler
states, RNG states, history, best score, elapsed time, MLflow run id); it holds only tensors and
plain Python values so it loads with ``torch.load(weights_only=True)``. Every file is written
atomically and the JSON last, so a checkpoint whose JSON exists is complete. A process killed
mid-write leaves only a hidden temporary file (``.<name>.XXXX.tmp``), which the next run removes.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from dlcr_reid.io import atomic_write

EPOCH_PATTERN = re.compile(r"^epoch-(\d{3,})\.json$")


def epoch_stem(out_dir: Path, epoch: int) -> Path:
    return Path(out_dir) / f"epoch-{epoch:03d}"


def _weights(model: nn.Module, clothes_classifier: nn.Module) -> dict[str, torch.Tensor]:
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"clothes_classifier.{k}": v for k, v in clothes_classifier.state_dict().items()})
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}


def save_checkpoint(
    stem: Path,
    model: nn.Module,
    clothes_classifier: nn.Module,
    meta: dict[str, Any],
    train_state: dict[str, Any] | None = None,
) -> Path:
    """Write ``stem``.safetensors/.json (and .state.pt when given); returns the .safetensors path."""
    stem = Path(stem)
    if train_state is not None:
        with atomic_write(stem.with_suffix(".state.pt")) as tmp:
            torch.save(train_state, tmp)
    with atomic_write(stem.with_suffix(".safetensors")) as tmp:
        save_file(_weights(model, clothes_classifier), str(tmp), metadata={"format": "pt"})
    with atomic_write(stem.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=str))
    return stem.with_suffix(".safetensors")


def copy_checkpoint(source_stem: Path, target_stem: Path) -> Path:
    """Copy a checkpoint's weights and JSON (not its resume state) under a new name, atomically."""
    for suffix in (".safetensors", ".json"):
        with atomic_write(Path(target_stem).with_suffix(suffix)) as tmp:
            shutil.copyfile(Path(source_stem).with_suffix(suffix), tmp)
    return Path(target_stem).with_suffix(".safetensors")


def epoch_checkpoints(out_dir: Path) -> list[tuple[int, Path]]:
    """Complete epoch checkpoints in ``out_dir`` as (epoch, stem), oldest first."""
    found = []
    for json_path in Path(out_dir).glob("epoch-*.json"):
        match = EPOCH_PATTERN.match(json_path.name)
        stem = json_path.with_suffix("")
        if match and stem.with_suffix(".safetensors").is_file() and stem.with_suffix(".state.pt").is_file():
            found.append((int(match.group(1)), stem))
    return sorted(found)


def remove_checkpoint(stem: Path) -> None:
    # JSON first: a half-removed checkpoint must not look complete
    for suffix in (".json", ".safetensors", ".state.pt"):
        Path(stem).with_suffix(suffix).unlink(missing_ok=True)


def remove_partial_writes(out_dir: Path) -> list[Path]:
    """Delete the temporary files of writes a killed process never finished; returns them."""
    leftovers = [p for p in Path(out_dir).glob(".*.tmp") if p.is_file()]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def prune_epoch_checkpoints(out_dir: Path, keep: int) -> None:
    """Keep the newest ``keep`` epoch checkpoints (0 keeps all)."""
    if keep <= 0:
        return
    for _, stem in epoch_checkpoints(out_dir)[:-keep]:
        remove_checkpoint(stem)


def load_weights(stem: Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(model state, clothes classifier state) from ``stem``.safetensors."""
    tensors = load_file(str(Path(stem).with_suffix(".safetensors")))
    model = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    clothes = {k[len("clothes_classifier."):]: v for k, v in tensors.items() if k.startswith("clothes_classifier.")}
    return model, clothes


def load_train_state(stem: Path) -> dict[str, Any]:
    return torch.load(Path(stem).with_suffix(".state.pt"), map_location="cpu", weights_only=True)


def capture_rng_state() -> dict[str, Any]:
    """Global RNG states as weights_only-loadable values."""
    kind, keys, position, has_gauss, cached_gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gauss": float(cached_gauss)},
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(("MT19937", numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["cached_gauss"]))
    random.setstate(tuple(v if not isinstance(v, list) else tuple(v) for v in state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
