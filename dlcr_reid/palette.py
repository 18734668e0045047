"""The one colour palette: clothing colour names with a typical RGB rendering of each.

The synthetic dataset paints its outfits with it, and dlcr_assets (the CPU describer, the prompt
writer, the novel-outfit generator, the recolor inpainter) imports it as its colour vocabulary, so
the words a description uses are the colours the recolor backend paints. The order is part of the
synthetic dataset's determinism (outfits draw colours by position): append, never reorder. It sits
at the package top so that importing it pulls in nothing else (dlcr_assets imports it at start-up).
"""
from __future__ import annotations

# Basic colour terms plus common fashion shades.
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 22),
    "white": (235, 235, 232),
    "grey": (128, 128, 128),
    "light grey": (190, 190, 190),
    "dark grey": (70, 70, 72),
    "red": (200, 30, 35),
    "dark red": (120, 15, 25),
    "pink": (240, 150, 180),
    "orange": (240, 130, 30),
    "yellow": (240, 215, 40),
    "beige": (215, 195, 160),
    "brown": (120, 75, 40),
    "khaki": (170, 160, 110),
    "olive": (110, 115, 40),
    "green": (40, 150, 60),
    "dark green": (20, 80, 40),
    "teal": (20, 130, 130),
    "light blue": (140, 190, 235),
    "blue": (35, 80, 200),
    "navy": (20, 30, 90),
    "purple": (120, 50, 160),
    "lavender": (185, 160, 220),
    "maroon": (100, 20, 40),
    "cream": (245, 235, 205),
}
PALETTE_NAMES = tuple(PALETTE)

__all__ = ["PALETTE", "PALETTE_NAMES"]
