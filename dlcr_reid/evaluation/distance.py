"""Cosine distance between query and gallery features, computed in row chunks.

Convention (our choice, SPEC §1.7 allows either): distance = 1 - cosine, in [0, 2], so smaller is
closer and a similarity s = cosine + 1 (the refinement's score) is simply 2 - distance.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _as_tensor(features) -> torch.Tensor:
    tensor = features if isinstance(features, torch.Tensor) else torch.from_numpy(np.asarray(features))
    tensor = tensor.detach().float()
    # already unit-length (the extractor's output): skip the copy, a gallery can be gigabytes
    if torch.allclose(tensor.norm(dim=-1), torch.ones(()), atol=1e-4):
        return tensor
    return F.normalize(tensor, dim=-1)


def cosine_similarity(query_features, gallery_features, chunk_rows: int = 4096, device: str = "cpu") -> np.ndarray:
    """[Q, G] float32 cosine similarity of L2-normalised features (normalised here if they were not)."""
    query = _as_tensor(query_features)
    gallery = _as_tensor(gallery_features).to(device)
    result = np.empty((query.shape[0], gallery.shape[0]), dtype=np.float32)
    for start in range(0, query.shape[0], chunk_rows):
        block = query[start : start + chunk_rows].to(device)
        result[start : start + block.shape[0]] = (block @ gallery.T).cpu().numpy()
    return result


def cosine_distance(query_features, gallery_features, chunk_rows: int = 4096, device: str = "cpu") -> np.ndarray:
    """[Q, G] float32 distance 1 - cosine (see the module docstring)."""
    similarity = cosine_similarity(query_features, gallery_features, chunk_rows, device)
    np.subtract(np.float32(1.0), similarity, out=similarity)
    return similarity


__all__ = ["cosine_distance", "cosine_similarity"]
