"""CPU describer: names each garment from the human-parsing map and its colour from the pixels.

It answers DLCR's question without a vision-language model: garment types come from the LIP labels
of the parsing map, colour names from the garment's median pixel matched to the nearest colour of
the shared vocabulary in CIELAB (closer to how people judge colour than RGB distance), e.g.
"The person is wearing a dark red coat over a white top, black trousers, brown shoes."
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from dlcr_assets.garments import COLOURS, LIP_REGION_LABELS

# Region -> the word the answer uses, in the order a person is described (outer layer first).
REGION_WORDS: dict[str, str] = {
    "coat": "coat",
    "upper": "top",
    "dress": "dress",
    "jumpsuit": "jumpsuit",
    "scarf": "scarf",
    "lower": "trousers",
    "skirt": "skirt",
    "gloves": "gloves",
    "socks": "socks",
    "shoes": "shoes",
}
_PLURAL_WORDS = {"trousers", "gloves", "socks", "shoes"}


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB colours given as [..., 3] values in 0..255."""
    linear = rgb.astype(np.float64) / 255.0
    linear = np.where(linear > 0.04045, ((linear + 0.055) / 1.055) ** 2.4, linear / 12.92)
    matrix = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


_COLOUR_NAMES = list(COLOURS)
_COLOUR_LAB = _srgb_to_lab(np.array([COLOURS[name] for name in _COLOUR_NAMES]))


def nearest_colour_name(rgb) -> str:
    """The vocabulary colour closest to ``rgb`` (0..255 triple) in CIELAB."""
    lab = _srgb_to_lab(np.asarray(rgb, dtype=np.float64).reshape(1, 3))
    return _COLOUR_NAMES[int(np.argmin(((_COLOUR_LAB - lab) ** 2).sum(axis=1)))]


def describe_garments(image: Image.Image, label_map: np.ndarray, min_pixels: int = 20) -> list[tuple[str, str]]:
    """(colour, garment word) for each garment region holding at least ``min_pixels`` pixels."""
    pixels = np.asarray(image.convert("RGB"))
    if label_map.shape != pixels.shape[:2]:  # parsers often work at another resolution
        resized = Image.fromarray(label_map.astype(np.uint8)).resize(image.size, Image.NEAREST)
        label_map = np.asarray(resized)
    garments = []
    for region, word in REGION_WORDS.items():
        inside = np.isin(label_map, LIP_REGION_LABELS[region])
        if inside.sum() >= min_pixels:
            # The median resists shading, edges and the odd mislabelled pixel better than the mean.
            garments.append((nearest_colour_name(np.median(pixels[inside], axis=0)), word))
    return garments


def _with_article(colour: str, word: str) -> str:
    phrase = f"{colour} {word}"
    if word in _PLURAL_WORDS:
        return phrase
    return ("an " if colour[0] in "aeiou" else "a ") + phrase


def compose_answer(garments: list[tuple[str, str]]) -> str:
    """One sentence naming the garments: a coat is worn "over" the top or dress beneath it."""
    if not garments:
        return "No clothing is visible."
    phrases = [_with_article(colour, word) for colour, word in garments]
    words = [word for _, word in garments]
    if words[0] == "coat" and len(words) > 1 and words[1] in {"top", "dress", "jumpsuit"}:
        phrases[:2] = [f"{phrases[0]} over {phrases[1]}"]
    return "The person is wearing " + ", ".join(phrases) + "."


def describe_image(image_path: str | Path, parsing_path: str | Path, min_pixels: int = 20) -> str:
    """The CPU backend's answer for one image and its LIP label map."""
    with Image.open(image_path) as image, Image.open(parsing_path) as parsing:
        label_map = np.asarray(parsing.convert("L") if parsing.mode not in {"L", "P"} else parsing)
        return compose_answer(describe_garments(image, label_map, min_pixels))
