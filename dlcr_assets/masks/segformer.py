"""`segformer` backend: human parsing with any semantic-segmentation checkpoint through transformers.

AutoImageProcessor + AutoModelForSemanticSegmentation (default ``mattmdjaga/segformer_b2_clothes``,
ATR labels); logits are upsampled to each image's own size before the argmax, and the clothes
labels are derived from the checkpoint's ``id2label`` names (LIP- or ATR-style).
"""
from __future__ import annotations

import logging

import numpy as np
import torch
from PIL import Image

from dlcr_assets.errors import StepInputError
from dlcr_assets.masks.labels import clothes_labels_from_id2label, lip_lookup_from_id2label

log = logging.getLogger(__name__)


class SegformerParser:
    """Batched human parser: images -> (native label maps, is-clothes lookup, to-LIP lookup)."""

    def __init__(self, model_id: str, device: str):
        from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation

        from dlcr_assets.hub import load_pretrained

        self.processor = load_pretrained(AutoImageProcessor.from_pretrained, model_id, "masks segformer processor")
        model = load_pretrained(AutoModelForSemanticSegmentation.from_pretrained, model_id, "masks segformer model")
        self.model = model.to(device).eval()
        self.device = device
        id2label = {int(k): v for k, v in self.model.config.id2label.items()}
        clothes = clothes_labels_from_id2label(id2label)
        if not clothes:
            raise StepInputError(f"segmentation model {model_id!r} has no clothes labels in id2label: {id2label}")
        self.is_clothes = np.zeros(256, dtype=bool)
        self.is_clothes[sorted(clothes)] = True
        self.to_lip = lip_lookup_from_id2label(id2label)

    @torch.inference_mode()
    def parse(self, images: list[Image.Image]) -> list[np.ndarray]:
        inputs = self.processor(images=images, return_tensors="pt").to(self.device)
        logits = self.model(**inputs).logits
        maps = []
        for row, image in zip(logits, images):
            # upsample the logits (not the argmax) so label borders land where the image's are
            full = torch.nn.functional.interpolate(
                row[None].float(), size=(image.height, image.width), mode="bilinear", align_corners=False
            )
            maps.append(full[0].argmax(0).to(torch.uint8).cpu().numpy())
        return maps
