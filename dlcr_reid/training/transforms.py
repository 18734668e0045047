"""CAL training augmentations, driven by an explicit random generator per image draw.

Resize to the input size; with p 0.5 resize to 1.125x instead and crop a random window of the
input size; horizontal flip (p 0.5); ImageNet normalisation; random erasing (p 0.5, area 2-40%,
aspect 0.3-3.3, filled with CAL's mean colour). Every random choice comes from the generator the
caller passes, seeded per (seed, epoch, draw): a draw is the same in any DataLoader worker, after a
resume, and on any number of ranks.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# CAL / random-erasing paper fill colour (in normalised space it is close to zero)
ERASE_FILL = (0.4914, 0.4822, 0.4465)


def _to_normalised_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    tensor = torch.from_numpy(array).permute(2, 0, 1).contiguous()
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (tensor - mean) / std


def _uniform(generator: torch.Generator, low: float = 0.0, high: float = 1.0) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


def _randint(generator: torch.Generator, high_inclusive: int) -> int:
    return int(torch.randint(0, high_inclusive + 1, (), generator=generator).item())


class TrainTransform:
    """PIL image + generator -> normalised float tensor [3, height, width] with CAL's augmentations."""

    def __init__(
        self,
        height: int,
        width: int,
        crop_prob: float = 0.5,
        crop_upscale: float = 1.125,
        flip_prob: float = 0.5,
        erase_prob: float = 0.5,
    ) -> None:
        self.height, self.width = height, width
        self.crop_prob, self.crop_upscale = crop_prob, crop_upscale
        self.flip_prob, self.erase_prob = flip_prob, erase_prob

    def __call__(self, image: Image.Image, generator: torch.Generator) -> torch.Tensor:
        image = image.convert("RGB")
        if _uniform(generator) < self.crop_prob:
            # resize straight from the source to the upscaled size (one resampling, not two)
            big_w, big_h = round(self.width * self.crop_upscale), round(self.height * self.crop_upscale)
            image = image.resize((big_w, big_h), Image.BILINEAR)
            left, top = _randint(generator, big_w - self.width), _randint(generator, big_h - self.height)
            image = image.crop((left, top, left + self.width, top + self.height))
        else:
            image = image.resize((self.width, self.height), Image.BILINEAR)
        if _uniform(generator) < self.flip_prob:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        tensor = _to_normalised_tensor(image)
        if _uniform(generator) < self.erase_prob:
            _erase_random_rectangle(tensor, generator)
        return tensor


def _erase_random_rectangle(
    tensor: torch.Tensor, generator: torch.Generator, area_range=(0.02, 0.4), min_aspect: float = 0.3
) -> None:
    """Fill one random rectangle in place (up to 100 tries to find one that fits)."""
    _, height, width = tensor.shape
    for _ in range(100):
        target_area = _uniform(generator, *area_range) * height * width
        aspect = _uniform(generator, min_aspect, 1.0 / min_aspect)
        erase_h = int(round(math.sqrt(target_area * aspect)))
        erase_w = int(round(math.sqrt(target_area / aspect)))
        if 0 < erase_h < height and 0 < erase_w < width:
            top, left = _randint(generator, height - erase_h), _randint(generator, width - erase_w)
            for channel, value in enumerate(ERASE_FILL):
                tensor[channel, top : top + erase_h, left : left + erase_w] = value
            return


class EvalTransform:
    """PIL image -> resized, normalised tensor (no randomness)."""

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return _to_normalised_tensor(image.convert("RGB").resize((self.width, self.height), Image.BILINEAR))
