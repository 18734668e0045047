"""Optional scorers: realism (a real-vs-generated discriminator) and prompt adherence (CLIP).

Both are small callables so any model fits behind them. ``RealismScorer``: generated image paths
-> one score each, higher = more real (e.g. a discriminator's P(real)); none ships with the demo,
so ``realism`` stays empty unless one is passed. ``ClipPromptScorer`` loads a transformers
``CLIPModel`` + ``CLIPProcessor`` by hub id or folder and returns the cosine between each image's
and its prompt's embeddings.
"""
from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from dlcr_assets.errors import StepInputError


class RealismScorer(Protocol):
    def __call__(self, paths: Sequence[str]) -> np.ndarray: ...


class PromptScorer(Protocol):
    def __call__(self, paths: Sequence[str], prompts: Sequence[str]) -> np.ndarray: ...


class ClipPromptScorer:
    """CLIP image-text cosine similarity, batched; ``model_id`` is a hub id or a local folder."""

    def __init__(self, model_id: str, device: str = "cpu", batch_size: int = 32) -> None:
        from transformers import CLIPModel, CLIPProcessor

        try:
            self.model = CLIPModel.from_pretrained(model_id).to(device).eval()
            self.processor = CLIPProcessor.from_pretrained(model_id)
        except (OSError, ValueError) as error:  # a missing folder, an unknown id offline
            raise StepInputError(f"cannot load CLIP model {model_id!r} (quality.prompt_model_id): {error}") from None
        self.device, self.batch_size = device, batch_size

    def __call__(self, paths: Sequence[str], prompts: Sequence[str]) -> np.ndarray:
        import torch
        from PIL import Image

        scores = []
        for start in range(0, len(paths), self.batch_size):
            images = [Image.open(p).convert("RGB") for p in paths[start:start + self.batch_size]]
            texts = [str(t) for t in prompts[start:start + self.batch_size]]
            inputs = self.processor(text=texts, images=images, return_tensors="pt", padding=True, truncation=True)
            with torch.no_grad():
                out = self.model(**{k: v.to(self.device) for k, v in inputs.items()})
            image = torch.nn.functional.normalize(out.image_embeds.float(), dim=-1)
            text = torch.nn.functional.normalize(out.text_embeds.float(), dim=-1)
            scores.append((image * text).sum(dim=-1).cpu().numpy())
        return np.concatenate(scores) if scores else np.zeros(0)


class ManifestRealism:
    """A real-vs-generated scorer taking ``(images, masks)`` (the discriminator's ``RealismScorer``,
    ``dlcr_assets.discriminator.load_scorer``) behind the ``paths -> scores`` interface above: each
    generated image of ``manifest`` is scored with the clothes mask of its source (``masks`` table)."""

    def __init__(self, scorer, manifest, masks, batch_size: int = 32) -> None:
        mask_of_source = dict(zip(masks["path"], masks["mask_path"]))
        self.mask_of = {path: mask_of_source.get(source) for path, source in zip(manifest["path"], manifest["source_path"])}
        self.scorer, self.batch_size = scorer, batch_size

    def __call__(self, paths: Sequence[str]) -> np.ndarray:
        from PIL import Image

        missing = [path for path in paths if not self.mask_of.get(path)]
        if missing:
            raise StepInputError(f"realism score: no clothes mask for the source of {missing[0]} "
                                 f"({len(missing)} image(s)); run `dlcr clothing-masks`")
        scores = []
        for start in range(0, len(paths), self.batch_size):
            chunk = list(paths[start:start + self.batch_size])
            images = [Image.open(path).convert("RGB") for path in chunk]
            masks = [Image.open(self.mask_of[path]).convert("L") for path in chunk]
            scores.append(np.asarray(self.scorer(images, masks), dtype=float))
        return np.concatenate(scores) if scores else np.zeros(0)
