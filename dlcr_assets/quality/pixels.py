"""Pixel scores of a generated image against its source: clothes change, noise and leakage.

All are computed inside (or, for leakage, outside) the source's clothing mask:

- ``lab_delta_e``: mean CIE76 colour difference (CIELAB, D65) over the mask's pixels; the images
  are aligned (the engine repaints the source), so this is a per-pixel difference.
- ``colour_distance``: Hellinger distance between colour/texture histograms of the two clothes
  regions (L*, a*b* joint, and gradient magnitude). Histograms ignore where a pixel is, so the same
  distance also compares two REAL images of one outfit seen in different poses: that is the
  reference the filter's clothes threshold is taken from.
- ``colour_entropy``: entropy (bits) of the masked pixels' colours on an 8x8x8 RGB grid: a garment,
  even a patterned one, has a few colours plus shading; noise or a shredded region has hundreds.
- ``leaked_pixels``: pixels outside the mask where any channel differs from the source.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import sobel

from dlcr_assets.errors import StepInputError

L_BINS, AB_BINS, GRADIENT_BINS = 8, 6, 8


def read_rgb(path: str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as error:
        raise StepInputError(f"cannot read image {path}: {error}") from None


def read_mask(path: str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L")) > 127
    except OSError as error:
        raise StepInputError(f"cannot read mask {path}: {error}") from None


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 [..., 3] -> CIELAB (D65) float [..., 3]."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def clothes_descriptor(lab: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Concatenated normalised histograms of the masked region: L*, (a*, b*) joint, |gradient L*|."""
    if not mask.any():
        return np.zeros(L_BINS + AB_BINS * AB_BINS + GRADIENT_BINS)
    light = lab[..., 0]
    gradient = np.hypot(sobel(light, axis=0), sobel(light, axis=1))[mask]
    parts = [
        np.histogram(light[mask], bins=L_BINS, range=(0, 100))[0],
        np.histogram2d(lab[..., 1][mask], lab[..., 2][mask], bins=AB_BINS, range=[[-80, 80], [-80, 80]])[0].ravel(),
        np.histogram(np.minimum(gradient, 199.0), bins=GRADIENT_BINS, range=(0, 200))[0],
    ]
    return np.concatenate([p / max(p.sum(), 1) for p in parts])


def hellinger(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Hellinger distance of the three histograms (each in [0, 1])."""
    cuts = np.cumsum([0, L_BINS, AB_BINS * AB_BINS, GRADIENT_BINS])
    parts = [np.sqrt(max(0.0, 1.0 - np.sum(np.sqrt(a[s:e] * b[s:e])))) for s, e in zip(cuts[:-1], cuts[1:])]
    return float(np.mean(parts))


def colour_entropy(rgb: np.ndarray, mask: np.ndarray) -> float:
    """Entropy in bits of the masked pixels' colours quantised to 8 levels per channel."""
    if not mask.any():
        return 0.0
    levels = (rgb[mask] // 32).astype(np.int64)
    counts = np.bincount(levels[:, 0] * 64 + levels[:, 1] * 8 + levels[:, 2], minlength=512)
    share = counts[counts > 0] / counts.sum()
    return float(-(share * np.log2(share)).sum())


def pixel_scores(generated: np.ndarray, source: np.ndarray, mask: np.ndarray,
                 source_lab: np.ndarray | None = None, source_descriptor: np.ndarray | None = None) -> dict:
    """The four pixel scores of one generated image (a size mismatch leaks every outside pixel)."""
    if generated.shape != source.shape or mask.shape != source.shape[:2]:
        return dict(lab_delta_e=float("nan"), colour_distance=float("nan"), colour_entropy=float("nan"),
                    leaked_pixels=int(generated.shape[0] * generated.shape[1]))
    source_lab = rgb_to_lab(source) if source_lab is None else source_lab
    source_descriptor = clothes_descriptor(source_lab, mask) if source_descriptor is None else source_descriptor
    lab = rgb_to_lab(generated)
    delta = np.linalg.norm(lab - source_lab, axis=-1)[mask]
    leaked = int(np.any(generated != source, axis=-1)[~mask].sum())
    return dict(lab_delta_e=float(delta.mean()) if delta.size else 0.0,
                colour_distance=hellinger(clothes_descriptor(lab, mask), source_descriptor),
                colour_entropy=colour_entropy(generated, mask), leaked_pixels=leaked)
