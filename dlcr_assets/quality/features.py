"""Reference-model ReID features of images, extracted once per image and cached on disk.

The cache is one ``.npz`` per reference checkpoint, named by the sha256 of its ``.safetensors``
(a retrained or replaced checkpoint never reuses stale features), holding one row per image keyed
by its path and content digest (``dlcr_assets.fingerprint.FileDigests``, which rehashes a file
only when its size or mtime changed): an image rewritten in place gets new features, one merely
touched (a DVC checkout) keeps them. A rerun extracts only
the images the cache lacks; extraction is batched through the evaluation code's extractor, so the
features are exactly those evaluation would compute.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from dlcr_assets.fingerprint import MISSING, FileDigests
from dlcr_reid.evaluation.features import extract_image_features
from dlcr_reid.io import atomic_write


def checkpoint_digest(checkpoint: Path) -> str:
    """sha256 of the checkpoint's .safetensors file (``checkpoint`` may name the stem, .json or .safetensors)."""
    stem = Path(checkpoint)
    stem = stem.with_suffix("") if stem.suffix in (".safetensors", ".json") else stem
    weights = stem.parent / f"{stem.name}.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"reference checkpoint weights {weights} not found")
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_key(path: str, digests: FileDigests) -> str:
    """'<path>|<content digest>': changes when the file's bytes change."""
    digest = digests(path)
    if digest == MISSING:
        raise FileNotFoundError(f"image {path} not found (listed in the manifest or index)")
    return f"{path}|{digest}"


def _load(cache: Path) -> dict[str, np.ndarray]:
    if not cache.is_file():
        return {}
    with np.load(cache, allow_pickle=False) as data:
        return dict(zip(data["keys"].tolist(), data["features"]))


def _save(cache: Path, table: dict[str, np.ndarray]) -> None:
    keys = sorted(table)
    with atomic_write(cache) as tmp, open(tmp, "wb") as handle:  # a file object: np.savez adds no suffix
        np.savez(handle, keys=np.array(keys, dtype=str), features=np.stack([table[k] for k in keys]))


def cached_features(
    model: torch.nn.Module,
    paths: Sequence[str],
    cache: Path,
    *,
    height: int,
    width: int,
    batch_size: int = 64,
    device: str = "cpu",
    digests: FileDigests | None = None,
) -> tuple[np.ndarray, int]:
    """([N, D] L2-normalised features in the order of ``paths``, number of images extracted now)."""
    cache = Path(cache)
    digests = digests if digests is not None else FileDigests()
    keys = [file_key(str(p), digests) for p in paths]
    table = _load(cache)
    missing = sorted({(k, str(p)) for k, p in zip(keys, paths) if k not in table})
    if missing:
        fresh = extract_image_features(model, [p for _, p in missing], height=height, width=width,
                                       batch_size=batch_size, device=device, desc="quality features")
        table.update({k: f for (k, _), f in zip(missing, fresh.numpy().astype(np.float32))})
        _save(cache, table)
    if not keys:
        return np.zeros((0, 0), dtype=np.float32), 0
    return np.stack([table[k] for k in keys]), len(missing)
