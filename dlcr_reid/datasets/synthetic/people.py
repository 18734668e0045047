"""Procedural people for the synthetic CC-ReID dataset: who they are, what they wear, how cameras see them.

Identity lives in what clothes do not change (skin, hair colour and style, head size, body
proportions, height, facial marks, stance); outfits are large saturated colour blocks with garment
types and patterns; cameras change background, light, scale, blur and viewpoint. This module
samples them; ``render`` draws them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcr_reid.palette import PALETTE_NAMES

# LIP label ids (SPEC §1.3) used by the renderer.
BG, HAIR, UPPER, DRESS, COAT, PANTS, SKIRT, FACE = 0, 2, 5, 6, 7, 9, 12, 13
LEFT_ARM, RIGHT_ARM, LEFT_LEG, RIGHT_LEG, LEFT_SHOE, RIGHT_SHOE = 14, 15, 16, 17, 18, 19
MIRROR_LABELS = {LEFT_ARM: RIGHT_ARM, RIGHT_ARM: LEFT_ARM, LEFT_LEG: RIGHT_LEG,
                 RIGHT_LEG: LEFT_LEG, LEFT_SHOE: RIGHT_SHOE, RIGHT_SHOE: LEFT_SHOE}

SKIN_TONES = ((255, 224, 196), (241, 194, 150), (224, 172, 125), (198, 134, 90),
              (165, 110, 70), (128, 82, 50), (96, 60, 38), (70, 45, 30))
HAIR_COLOURS = ((15, 12, 10), (60, 38, 22), (110, 70, 35), (165, 55, 25), (220, 185, 110),
                (235, 220, 170), (150, 150, 150), (230, 230, 230), (90, 30, 110), (30, 90, 140))
HAIR_STYLES = ("short", "long", "bob", "bun", "bald", "spiky")
TOPS = ("tshirt", "shirt", "tank", "coat", "dress")
LOWERS = ("trousers", "shorts", "skirt")
PATTERN_NAMES = ("plain", "striped", "checked", "dotted")
VIEWS = ("front", "back", "side")


@dataclass(frozen=True)
class Identity:
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str
    hair_volume: float     # hair outline grows by this fraction of head height
    head_scale: float      # head height relative to the average
    height_scale: float    # person height as a fraction of the camera's framing
    shoulder: float        # shoulder half-width, fraction of person height
    hip: float             # hip half-width
    limb: float            # arm/leg thickness
    leg_length: float      # hip-to-floor, fraction of person height
    glasses: bool
    beard: bool
    mole: tuple[float, float] | None  # position on the face (x, y in -1..1)
    leg_spread: float      # stance: ankle offset, fraction of person height
    arm_angle: float       # degrees away from the body


@dataclass(frozen=True)
class Outfit:
    top: str               # one of TOPS
    lower: str             # one of LOWERS ("" under a dress)
    top_colour: str        # palette names
    inner_colour: str      # shirt under an open coat
    lower_colour: str
    shoes_colour: str
    top_pattern: str
    lower_pattern: str
    pattern_colour: str


@dataclass(frozen=True)
class Camera:
    background: str        # gradient | stripes | tiles | noise
    wall: tuple[int, int, int]
    wall2: tuple[int, int, int]
    floor: tuple[int, int, int]
    horizon: float         # floor starts at this fraction of the image height
    gain: float            # brightness
    cast: tuple[float, float, float]  # per-channel colour cast
    scale: float           # person height as a fraction of the image height
    blur: float            # Gaussian sigma in pixels at 128 px image height
    view: str              # the viewpoint this camera sees most


def sample_identity(rng: np.random.Generator) -> Identity:
    skin = np.clip(np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))]) + rng.integers(-8, 9, 3), 0, 255)
    hair = np.clip(np.array(HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))]) + rng.integers(-10, 11, 3), 0, 255)
    return Identity(
        skin=tuple(int(v) for v in skin), hair=tuple(int(v) for v in hair),
        hair_style=HAIR_STYLES[rng.integers(len(HAIR_STYLES))],
        hair_volume=float(rng.uniform(0.02, 0.16)), head_scale=float(rng.uniform(0.82, 1.22)),
        height_scale=float(rng.uniform(0.84, 1.0)), shoulder=float(rng.uniform(0.085, 0.135)),
        hip=float(rng.uniform(0.065, 0.105)), limb=float(rng.uniform(0.032, 0.052)),
        leg_length=float(rng.uniform(0.42, 0.52)), glasses=bool(rng.random() < 0.3),
        beard=bool(rng.random() < 0.25),
        mole=(float(rng.uniform(-0.6, 0.6)), float(rng.uniform(-0.2, 0.6))) if rng.random() < 0.25 else None,
        leg_spread=float(rng.uniform(0.0, 0.06)), arm_angle=float(rng.uniform(3.0, 16.0)),
    )


def sample_outfits(rng: np.random.Generator, count: int) -> list[Outfit]:
    """``count`` outfits for one person, with distinct top and lower colours: outfits differ strongly."""
    tops = rng.permutation(len(PALETTE_NAMES))
    lowers = rng.permutation(len(PALETTE_NAMES))
    outfits = []
    for k in range(count):
        top = TOPS[rng.choice(len(TOPS), p=(0.3, 0.2, 0.12, 0.23, 0.15))]
        lower = "" if top == "dress" else LOWERS[rng.choice(3, p=(0.55, 0.25, 0.2))]
        top_colour = PALETTE_NAMES[tops[k % len(tops)]]
        lower_colour = next(PALETTE_NAMES[i] for i in np.roll(lowers, -k) if PALETTE_NAMES[i] != top_colour)
        others = [n for n in PALETTE_NAMES if n not in (top_colour, lower_colour)]
        outfits.append(Outfit(
            top=top, lower=lower, top_colour=top_colour,
            inner_colour=others[rng.integers(len(others))], lower_colour=lower_colour,
            shoes_colour=PALETTE_NAMES[rng.integers(len(PALETTE_NAMES))],
            top_pattern=PATTERN_NAMES[rng.choice(4, p=(0.5, 0.2, 0.15, 0.15))],
            lower_pattern=PATTERN_NAMES[rng.choice(4, p=(0.85, 0.05, 0.1, 0.0))],
            pattern_colour=others[rng.integers(len(others))],
        ))
    return outfits


def sample_camera(rng: np.random.Generator) -> Camera:
    def muted() -> tuple[int, int, int]:
        grey = rng.uniform(60, 200)
        return tuple(int(np.clip(grey + rng.uniform(-30, 30), 0, 255)) for _ in range(3))

    return Camera(
        background=("gradient", "stripes", "tiles", "noise")[rng.integers(4)],
        wall=muted(), wall2=muted(), floor=muted(), horizon=float(rng.uniform(0.7, 0.88)),
        gain=float(rng.uniform(0.75, 1.2)), cast=tuple(float(v) for v in rng.uniform(0.88, 1.12, 3)),
        scale=float(rng.uniform(0.8, 0.95)), blur=float(rng.uniform(0.0, 0.9)),
        view=VIEWS[rng.integers(3)],
    )
