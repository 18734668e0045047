"""The registered model: an MLflow pyfunc that maps a batch of images to L2-normalised ReID embeddings.

Input: a uint8 array ``N x H x W x 3`` (RGB, HWC: what an image decoder gives, and what a client
of ``mlflow models serve`` sends as ``{"inputs": [[[[r, g, b], ...]]]}``). Images of another size
than the checkpoint's training input are resized (bilinear, antialiased). Output: a float32 array
``N x D``, each row of unit L2 norm; the cosine distance between rows is what the evaluation ranks by.

The features are the evaluation's (``evaluation.features``): ImageNet mean/std normalisation,
f(x) + f(flipped x) when the run's ``evaluation.flip`` is on, then L2 normalisation; images at the
model's input size give the very features the evaluation computes from the files.
Artifacts: the checkpoint's ``.safetensors`` (loaded with safetensors, no pickle) and ``.json``
meta, and the run's ``config.json`` (which holds ``evaluation.flip``).
"""
from __future__ import annotations

import json
from pathlib import Path

import mlflow.pyfunc
import numpy as np

BATCH = 64  # images per forward pass: bounds memory for a large request


class ReidEmbedder(mlflow.pyfunc.PythonModel):
    """Loads the checkpoint once (``load_context``); ``predict`` embeds uint8 HWC images."""

    def load_context(self, context) -> None:
        from dlcr_reid.device import resolve_device
        from dlcr_reid.evaluation.evaluate import input_size_from_meta
        from dlcr_reid.models import load_checkpoint

        self.device = resolve_device("auto")
        # weights and meta share a stem (best.safetensors + best.json), as load_checkpoint expects
        self.model, meta = load_checkpoint(context.artifacts["weights"], self.device)
        self.height, self.width = input_size_from_meta(meta)
        config = json.loads(Path(context.artifacts["config"]).read_text())
        self.flip = bool(config.get("evaluation", {}).get("flip", True))
        self.feature_dim = int(self.model.feature_dim)

    def predict(self, context, model_input: np.ndarray, params=None) -> np.ndarray:  # ndarray: no hint-based schema
        import torch
        import torch.nn.functional as F

        from dlcr_reid.evaluation.features import IMAGENET_MEAN, IMAGENET_STD

        images = np.asarray(model_input)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"images: expected a uint8 array N x H x W x 3 (RGB), got {images.dtype} {images.shape}")
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        chunks = []
        with torch.no_grad():
            for start in range(0, len(images), BATCH):
                batch = torch.from_numpy(np.ascontiguousarray(images[start:start + BATCH])).permute(0, 3, 1, 2)
                batch = batch.float() / 255.0
                if batch.shape[2:] != (self.height, self.width):
                    batch = F.interpolate(batch, size=(self.height, self.width), mode="bilinear",
                                          align_corners=False, antialias=True)
                batch = ((batch - mean) / std).to(self.device)
                features = self.model(batch).float()
                if self.flip:
                    features = features + self.model(torch.flip(batch, dims=[3])).float()
                chunks.append(features.cpu())
        if not chunks:
            return np.zeros((0, self.feature_dim), dtype=np.float32)
        return F.normalize(torch.cat(chunks), dim=1).numpy().astype(np.float32)


def signature(feature_dim: int):
    """uint8 N x H x W x 3 in, float32 N x feature_dim out (H, W free: resized to the model's size)."""
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    return ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.uint8), (-1, -1, -1, 3))]),
                          outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, feature_dim))]))


def input_example(height: int, width: int) -> np.ndarray:
    """One mid-grey image at the model's input size (stored with the model, shown in the UI)."""
    return np.full((1, height, width, 3), 128, dtype=np.uint8)
