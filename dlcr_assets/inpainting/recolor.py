"""The CPU inpainting backend: repaints each garment in the colour and pattern the prompt names.

It is the embedded demo's stand-in for diffusion inpainting. A prompt such as
"red coat, white striped t-shirt, navy trousers, black shoes" is parsed with the shared vocabulary;
each garment region of the image (from the job's LIP label map, or from vertical bands of the
binary mask when there is none) takes the colour of the prompt item for that region. The source's
shading is kept: the new colour is multiplied by the region's smoothed luminance relative to its
mean, so folds, the rounded body and the light survive while the old colour and (high-frequency)
pattern do not.

Garment TYPE changes are approximated by colour within the existing mask (the mask is fixed): a
prompt's coat colours the image's upper-body garment when the image has no coat, a dress colours
both the top and the bottom garment, and an image's dress is split at 45% of its height into a
top and a bottom part when the prompt names separate garments. A region the prompt does not cover
gets a palette colour drawn from the job seed, so the result is deterministic per job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import distance_transform_edt, gaussian_filter

from dlcr_assets.inpainting.base import InpaintJob
from dlcr_assets.garments import COLOURS, GARMENT_REGIONS, LIP_REGION_LABELS, PATTERNS

# Which prompt regions may stand in for an image region the prompt does not name, best first.
TOP_REGIONS = ("upper", "coat", "dress", "jumpsuit")
BOTTOM_REGIONS = ("lower", "skirt", "dress", "jumpsuit")
FALLBACKS: dict[str, tuple[str, ...]] = {
    "upper": ("upper", "coat", "dress", "jumpsuit"),
    "coat": ("coat", "upper", "dress", "jumpsuit"),
    "lower": ("lower", "skirt", "jumpsuit", "dress"),
    "skirt": ("skirt", "lower", "dress", "jumpsuit"),
    "shoes": ("shoes", "socks"),
    "socks": ("socks", "shoes", "lower"),
    "scarf": ("scarf",),
    "gloves": ("gloves",),
}
WHOLE_BODY = ("dress", "jumpsuit")  # garments split into a top and a bottom part when needed
DARK_ACCENTS = ("black", "navy", "dark grey", "dark red", "dark green")
LIGHT_ACCENTS = ("white", "cream", "light grey", "yellow", "light blue")

_LABEL_REGION = {label: region for region, labels in LIP_REGION_LABELS.items() for label in labels}
_REGION_NAMES = tuple(LIP_REGION_LABELS)
# Longest names first so "light blue" wins over "blue" and "t-shirt" over "shirt".
_COLOUR_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, COLOURS), key=len, reverse=True)) + r")\b")
_GARMENT_RE = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, GARMENT_REGIONS), key=len, reverse=True))
                         + r")(?![\w-])")
_PATTERN_RE = re.compile(r"\b(" + "|".join(PATTERNS) + r")\b")


@dataclass(frozen=True)
class GarmentItem:
    """One prompt item: garment word, the region it covers, its colour name and pattern."""

    garment: str
    region: str
    colour: str | None
    pattern: str


def parse_outfit_prompt(prompt: str) -> list[GarmentItem]:
    """Items of a prompt ("red coat, white striped t-shirt, ...") that name a known garment.

    An item without a known colour keeps ``colour=None`` (painted with a seed colour); words
    outside the vocabulary are ignored.
    """
    items = []
    for part in re.split(r"[,;|\n]+|\band\b", prompt.lower()):
        garment = _GARMENT_RE.search(part)
        if not garment:
            continue
        colour, pattern = _COLOUR_RE.search(part), _PATTERN_RE.search(part)
        items.append(GarmentItem(garment.group(1), GARMENT_REGIONS[garment.group(1)],
                                 colour.group(1) if colour else None, pattern.group(1) if pattern else "plain"))
    return items


def garment_regions(mask: np.ndarray, label_map: np.ndarray | None) -> dict[str, np.ndarray]:
    """Boolean pixel sets per garment region inside ``mask``.

    With a label map, each garment label gives its region, and mask pixels that carry no garment
    label (mask dilation, accessories) join the nearest garment. Without one, the mask's vertical
    extent is split into bands: top half upper body, then lower body, bottom 8% shoes.
    """
    regions: dict[str, np.ndarray] = {}
    if label_map is not None and label_map.shape == mask.shape:
        region_index = np.full(256, -1, np.int16)
        for label, region in _LABEL_REGION.items():
            region_index[label] = _REGION_NAMES.index(region)
        index = region_index[label_map.astype(np.uint8)]
        garment = index >= 0
        if (mask & garment).any():
            if (mask & ~garment).any():
                _, (rows, cols) = distance_transform_edt(~garment, return_indices=True)
                index = np.where(garment, index, index[rows, cols])
            for number, region in enumerate(_REGION_NAMES):
                pixels = mask & (index == number)
                if pixels.any():
                    regions[region] = pixels
            return regions
    rows = np.nonzero(mask.any(axis=1))[0]
    if rows.size == 0:
        return regions
    top, bottom = rows[0], rows[-1] + 1
    y = np.arange(mask.shape[0])[:, None]
    upper_end, shoes_start = top + 0.5 * (bottom - top), top + 0.92 * (bottom - top)
    for region, band in (("upper", y < upper_end), ("lower", (y >= upper_end) & (y < shoes_start)),
                         ("shoes", y >= shoes_start)):
        pixels = mask & band
        if pixels.any():
            regions[region] = pixels
    return regions


def _pick(items: dict[str, GarmentItem], choices: tuple[str, ...]) -> GarmentItem | None:
    return next((items[r] for r in choices if r in items), None)


def _split_rows(pixels: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    rows = np.nonzero(pixels.any(axis=1))[0]
    cut = rows[0] + fraction * (rows[-1] + 1 - rows[0])
    upper = pixels & (np.arange(pixels.shape[0])[:, None] < cut)
    return upper, pixels & ~upper


def assign_items(regions: dict[str, np.ndarray], prompt_items: list[GarmentItem]) -> list[tuple[np.ndarray, GarmentItem | None]]:
    """Pair every image region (or part of one) with the prompt item that paints it (None: unnamed)."""
    items: dict[str, GarmentItem] = {}
    for item in prompt_items:
        items.setdefault(item.region, item)  # the first item of a region wins
    plan = []
    for region in _REGION_NAMES:
        if region not in regions:
            continue
        pixels = regions[region]
        if region in items:
            plan.append((pixels, items[region]))
        elif region in WHOLE_BODY:
            upper, lower = _split_rows(pixels, 0.45)
            plan.append((upper, _pick(items, TOP_REGIONS)))
            plan.append((lower, _pick(items, BOTTOM_REGIONS)))
        else:
            plan.append((pixels, _pick(items, FALLBACKS.get(region, (region,)))))
    return plan


def _pattern(kind: str, shape: tuple[int, int], period: int, phase: int) -> np.ndarray:
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    if kind == "striped":
        return ((ys + phase) % period) < (period + 1) // 2
    if kind == "checked":
        return (((ys + phase) // period) + ((xs + phase) // period)) % 2 == 1
    if kind == "dotted":
        return (((ys + phase) % period) < 2) & (((xs + phase) % period) < 2)
    return np.zeros(shape, bool)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def recolor_image(job: InpaintJob) -> Image.Image:
    """Repaint the garments of one job; pixels outside the mask keep their source values."""
    source = np.asarray(job.image.convert("RGB"), np.float32)
    height, width = source.shape[:2]
    mask = np.asarray(job.mask.convert("L").resize((width, height), Image.NEAREST)) > 127
    label_map = None if job.label_map is None else np.asarray(job.label_map)
    if label_map is not None and label_map.shape != (height, width):
        label_map = np.asarray(Image.fromarray(label_map.astype(np.uint8)).resize((width, height), Image.NEAREST))
    rng = np.random.default_rng(job.seed)
    plan = assign_items(garment_regions(mask, label_map), parse_outfit_prompt(job.prompt))

    luminance = _luminance(source)
    # Smoothing removes the old pattern and noise from the shading but keeps folds and the body's roundness.
    sigma = max(1.0, height / 45)
    period = max(3, int(round(height / 26)))
    result = source.copy()
    colour_names = tuple(COLOURS)
    for pixels, item in plan:
        if not pixels.any():
            continue
        colour_name = item.colour if item is not None and item.colour else colour_names[rng.integers(len(colour_names))]
        pattern = item.pattern if item is not None else "plain"
        weight = pixels.astype(np.float32)
        smooth = gaussian_filter(luminance * weight, sigma) / np.maximum(gaussian_filter(weight, sigma), 1e-6)
        shading = np.clip(smooth / max(float(luminance[pixels].mean()), 1.0), 0.35, 1.8)
        paint = np.broadcast_to(np.array(COLOURS[colour_name], np.float32), source.shape).copy()
        if pattern != "plain":
            bright = _luminance(np.array(COLOURS[colour_name], np.float32)) > 140
            accents = DARK_ACCENTS if bright else LIGHT_ACCENTS
            accent = accents[rng.integers(len(accents))]
            paint[_pattern(pattern, (height, width), period, int(rng.integers(period)))] = COLOURS[accent]
        result[pixels] = paint[pixels] * shading[pixels, None]
    return Image.fromarray(np.clip(np.rint(result), 0, 255).astype(np.uint8), "RGB")


class RecolorInpainter:
    """Inpainter backend "recolor": garment-wise repainting with the source's shading (CPU, no model)."""

    backend = "recolor"
    model_id = "recolor"
    needs_label_map = True  # paints garment by garment from the parsing labels
    # bump when recolor_image changes its output, so earlier images become stale
    version = 1

    def __init__(self, params: object | None = None):
        # Nothing to configure: the backend is a fixed function of (image, mask, labels, prompt, seed).
        self.params = params

    def pixel_settings(self) -> dict:
        """Everything besides the job that determines the pixels: only the function itself (no sampler)."""
        return {"backend": self.backend, "model_id": self.model_id, "version": self.version}

    def inpaint(self, jobs: list[InpaintJob]) -> list[Image.Image]:
        return [recolor_image(job) for job in jobs]


__all__ = ["GarmentItem", "RecolorInpainter", "assign_items", "garment_regions", "parse_outfit_prompt", "recolor_image"]
