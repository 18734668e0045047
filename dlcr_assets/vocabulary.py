"""Clothing vocabulary shared by the CPU backends: colour names with RGB, garments with their body region.

The CPU describer names colours and garments with these words, the CPU prompt writer extracts them,
the novel-outfit generator combines them and the recolor inpainter paints them; one vocabulary keeps
the four in agreement.
"""
from __future__ import annotations

# Basic colour terms plus common fashion shades; RGB is a typical rendering of each name.
COLOURS: dict[str, tuple[int, int, int]] = {
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
