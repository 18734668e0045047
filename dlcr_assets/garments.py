"""Clothing vocabulary shared by the CPU backends: colour names with RGB, garments with their body region.

The CPU describer names colours and garments with these words, the CPU prompt writer extracts them,
the novel-outfit generator combines them and the recolor inpainter paints them; one vocabulary keeps
the four in agreement.
"""
from __future__ import annotations

from dlcr_reid.palette import PALETTE

# colour names with RGB: the palette the synthetic dataset paints with, defined once in dlcr_reid
COLOURS: dict[str, tuple[int, int, int]] = PALETTE

# Garment word -> body region it covers. Regions map onto human-parsing labels (LIP/ATR) in the masks.
GARMENT_REGIONS: dict[str, str] = {
    "t-shirt": "upper",
    "shirt": "upper",
    "blouse": "upper",
    "sweater": "upper",
    "hoodie": "upper",
    "tank top": "upper",
    "top": "upper",
    "jacket": "coat",
    "coat": "coat",
    "blazer": "coat",
    "cardigan": "coat",
    "dress": "dress",
    "trousers": "lower",
    "jeans": "lower",
    "pants": "lower",
    "shorts": "lower",
    "skirt": "skirt",
    "shoes": "shoes",
    "sneakers": "shoes",
    "boots": "shoes",
    "socks": "socks",
    "scarf": "scarf",
    "gloves": "gloves",
    "jumpsuit": "jumpsuit",
}

PATTERNS: tuple[str, ...] = ("plain", "striped", "checked", "dotted")

# LIP label ids (SPEC §1.3) of each region; the recolor backend paints these pixels.
LIP_REGION_LABELS: dict[str, tuple[int, ...]] = {
    "upper": (5,),
    "coat": (7,),
    "dress": (6,),
    "lower": (9,),
    "skirt": (12,),
    "shoes": (18, 19),
    "socks": (8,),
    "scarf": (11,),
    "gloves": (3,),
    "jumpsuit": (10,),
}
