"""What the figures renderer samples before drawing: identities, outfits, cameras, and the walking skeleton.

Identity lives in what clothes do not change: stature and proportions, limb thickness, head size and
shape, skin tone, hair style and colour, beard, spectacles, and the gait (stride, arm swing, lean).
Outfits differ in garment TYPE (sleeve length, shorts / trousers / skirt / dress, a coat over the
top, a scarf) as well as colour and texture. Cameras differ in preferred view, scale, background and
lighting. Every sample draws from its own ``numpy`` generator keyed by the seed, so nothing depends
on the order of work.
"""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np

VIEWS = ("front", "back", "left", "right")
HAIR_STYLES = ("short", "long", "ponytail", "bun", "buzz", "curly")
TOPS = ("tshirt", "shirt", "tank", "sweater")
BOTTOMS = ("trousers", "shorts", "skirt")
TEXTURES = ("plain", "hstripes", "vstripes", "checks", "dots")
NEUTRALS = ((25, 25, 28), (235, 235, 230), (128, 128, 132), (30, 40, 85), (200, 180, 140), (90, 60, 40))
SKINS = ((255, 224, 196), (236, 192, 160), (210, 160, 120), (170, 120, 85), (120, 80, 55), (85, 55, 40))
HAIRS = ((20, 16, 14), (70, 45, 25), (140, 95, 50), (215, 180, 110), (160, 60, 30), (150, 150, 150))

Colour = tuple[int, int, int]


def keyed_rng(*key: int) -> np.random.Generator:
    """A generator of its own for one thing to sample (seed, kind, ids...)."""
    return np.random.default_rng([int(k) for k in key])


@dataclass(frozen=True)
class Identity:
    stature: float        # figure height as a share of the frame
    shoulders: float      # half shoulder width / stature
    hips: float           # half hip width / stature
    legs: float           # hip height / stature
    head: float           # head height / stature
    head_aspect: float    # head width / head height
    build: float          # limb thickness factor
    skin: Colour
    hair: Colour
    hair_style: str
    beard: bool
    glasses: bool
    stride: float         # foot swing / stature
    swing: float          # arm swing, radians
    lean: float           # forward lean / stature


@dataclass(frozen=True)
class Garment:
    kind: str             # tshirt shirt tank sweater dress coat trousers shorts skirt shoes scarf
    colour: Colour
    second: Colour        # the texture's other colour
    texture: str
    length: float         # hem position, 0..1 of the span the garment may cover


@dataclass(frozen=True)
class Outfit:
    top: Garment          # an upper garment or a dress
    bottom: Garment | None  # None under a dress
    coat: Garment | None
    scarf: Garment | None
    shoes: Garment

    @property
    def signature(self) -> tuple:
        """The garment types, which differ between the outfits of one person."""
        return (self.top.kind, self.bottom.kind if self.bottom else None, self.coat is not None)


@dataclass(frozen=True)
class Camera:
    number: int
    views: tuple[float, ...]  # probabilities over VIEWS
    scale: float
    shift: float          # vertical offset of the feet (share of frame height)
    wall: Colour
    floor: Colour
    horizon: float        # share of frame height where the floor starts
    panels: tuple          # background rectangles: (x0, y0, x1, y1, colour) in frame shares
    gain: float
    cast: tuple[float, float, float]
    contrast: float
    blur: float           # gaussian radius in output pixels
    noise: float          # noise sigma in grey levels
    light: float          # -1 light from the left .. 1 from the right


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _jitter(rng: np.random.Generator, colour: Colour, amount: int) -> Colour:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def sample_identity(seed: int, pid: int) -> Identity:
    rng = keyed_rng(seed, 1, pid)
    return Identity(
        stature=float(rng.uniform(0.80, 0.94)), shoulders=float(rng.uniform(0.085, 0.13)),
        hips=float(rng.uniform(0.065, 0.10)), legs=float(rng.uniform(0.45, 0.53)),
        head=float(rng.uniform(0.115, 0.15)), head_aspect=float(rng.uniform(0.68, 0.92)),
        build=float(rng.uniform(0.8, 1.3)), skin=_jitter(rng, _pick(rng, SKINS), 12),
        hair=_jitter(rng, _pick(rng, HAIRS), 15), hair_style=_pick(rng, HAIR_STYLES),
        beard=bool(rng.random() < 0.2), glasses=bool(rng.random() < 0.3),
        stride=float(rng.uniform(0.04, 0.14)), swing=float(rng.uniform(0.1, 0.5)),
        lean=float(rng.uniform(-0.01, 0.03)),
    )


def _hsv(hue: float, saturation: float, value: float) -> Colour:
    r, g, b = colorsys.hsv_to_rgb(float(hue) % 1.0, float(saturation), float(value))
    return int(r * 255), int(g * 255), int(b * 255)


def random_colour(rng: np.random.Generator) -> Colour:
    if rng.random() < 0.3:
        return _jitter(rng, _pick(rng, NEUTRALS), 10)
    return _hsv(rng.random(), rng.uniform(0.35, 0.95), rng.uniform(0.35, 0.95))


def _garment(rng: np.random.Generator, kind: str, textured: float = 0.35) -> Garment:
    texture = _pick(rng, TEXTURES[1:]) if rng.random() < textured else "plain"
    return Garment(kind, random_colour(rng), random_colour(rng), texture, float(rng.uniform(0.0, 1.0)))


def _outfit(rng: np.random.Generator) -> Outfit:
    if rng.random() < 0.18:
        top, bottom = _garment(rng, "dress"), None
    else:
        top, bottom = _garment(rng, _pick(rng, TOPS)), _garment(rng, _pick(rng, BOTTOMS), 0.15)
    coat = _garment(rng, "coat", 0.2) if rng.random() < 0.25 else None
    scarf = _garment(rng, "scarf", 0.5) if rng.random() < 0.15 else None
    return Outfit(top, bottom, coat, scarf, _garment(rng, "shoes", 0.0))


def sample_outfits(seed: int, pid: int, count: int) -> list[Outfit]:
    """``count`` outfits of one person, with pairwise different garment types where possible."""
    outfits: list[Outfit] = []
    for number in range(count):
        rng = keyed_rng(seed, 2, pid, number)
        candidate = _outfit(rng)
        for _ in range(30):  # redraw while the types repeat an earlier outfit of this person
            if candidate.signature not in {o.signature for o in outfits}:
                break
            candidate = _outfit(rng)
        outfits.append(candidate)
    return outfits


def sample_camera(seed: int, number: int) -> Camera:
    rng = keyed_rng(seed, 3, number)
    views = np.full(len(VIEWS), 0.4 / (len(VIEWS) - 1))
    views[(number - 1) % len(VIEWS)] = 0.6  # every camera mostly sees one side of people
    panels = tuple((float(x), float(y), float(x + rng.uniform(0.1, 0.4)), float(y + rng.uniform(0.1, 0.3)),
                    _jitter(rng, random_colour(rng), 0)) for x, y in rng.uniform(0.0, 0.8, (3, 2)))
    return Camera(
        number=number, views=tuple(float(v) for v in views), scale=float(rng.uniform(0.82, 1.0)),
        shift=float(rng.uniform(-0.03, 0.01)), wall=_hsv(number / 4 + rng.uniform(-0.05, 0.05), rng.uniform(0.15, 0.5),
                                                       rng.uniform(0.3, 0.85)),
        floor=_hsv(rng.random(), rng.uniform(0.05, 0.4), rng.uniform(0.2, 0.7)),
        horizon=float(rng.uniform(0.55, 0.8)), panels=panels, gain=float(rng.uniform(0.7, 1.2)),
        cast=tuple(float(c) for c in rng.uniform(0.88, 1.12, 3)), contrast=float(rng.uniform(0.8, 1.1)),
        blur=float(rng.uniform(0.0, 0.7)), noise=float(rng.uniform(2.0, 7.0)), light=float(rng.uniform(-1, 1)),
    )


@dataclass(frozen=True)
class Skeleton:
    """Joint positions (canvas pixels) and widths of one posed figure."""

    view: str
    facing: int           # +1 faces image right, -1 left (side views)
    size: float           # figure height in pixels
    centre: float
    top: float
    foot: float
    head: tuple[float, float, float, float]   # head box x0 y0 x1 y1
    shoulder_y: float
    hip_y: float
    shoulders: tuple      # (left-of-image point, right-of-image point)
    hips: tuple
    arms: tuple           # per arm (shoulder, elbow, wrist), image-left arm first
    legs: tuple           # per leg (hip, knee, ankle)
    arm_width: float
    leg_width: float


def pose(identity: Identity, camera: Camera, rng: np.random.Generator, height: int, width: int) -> Skeleton:
    """Place a walking figure: the view from the camera, a random gait phase and a small shift."""
    view = VIEWS[int(rng.choice(len(VIEWS), p=camera.views))]
    side = view in ("left", "right")
    facing = 1 if view == "right" else -1
    size = identity.stature * camera.scale * float(rng.uniform(0.95, 1.03)) * height
    foot = height * (0.975 + camera.shift)
    centre = width / 2 + float(rng.uniform(-0.06, 0.06)) * width
    phase = float(rng.uniform(0, 2 * math.pi))
    top = foot - size
    head_h = identity.head * size
    head_w = head_h * identity.head_aspect
    wide = 0.55 if side else 1.0
    lean = identity.lean * size * facing if side else 0.0
    shoulder_y, hip_y = top + head_h * 1.3, foot - identity.legs * size
    sw, hw = identity.shoulders * size * wide, identity.hips * size * wide
    hx = centre + lean * 0.3 + (0.12 * head_w * facing if side else 0.0)
    head = (hx - head_w / 2 + lean, top, hx + head_w / 2 + lean, top + head_h)
    shoulders = ((centre - sw + lean, shoulder_y), (centre + sw + lean, shoulder_y))
    hips = ((centre - hw, hip_y), (centre + hw, hip_y))
    legs, arms = [], []
    for n, (hx_, hy) in enumerate(hips):
        sign = 1 if n == 0 else -1  # the two legs swing in opposite phase
        swing = identity.stride * size * math.sin(phase) * sign
        if side:
            ankle = (centre + swing * facing * 0.9, foot - 0.03 * size)
            knee = ((hx_ * 0.2 + centre * 0.8 + ankle[0]) / 2 + 0.02 * size * facing * (swing < 0), (hy + ankle[1]) / 2)
        else:
            lift = 0.025 * size * max(0.0, math.sin(phase) * sign)
            ankle = (hx_ + (hx_ - centre) * 0.2, foot - 0.03 * size - lift)
            knee = ((hx_ + ankle[0]) / 2, (hy + ankle[1]) / 2)
        legs.append(((centre * 0.2 + hx_ * 0.8, hy), knee, ankle))
    for n, (sx, sy) in enumerate(shoulders):
        out = -1 if n == 0 else 1
        if side:  # seen from the side both arms hang from the middle of the torso
            sx = centre + lean + 0.2 * sw * out
        angle = identity.swing * math.sin(phase) * (1 if n == 0 else -1)
        upper, fore = 0.17 * size, 0.15 * size
        if side:
            ex, ey = sx + upper * math.sin(angle) * facing, sy + upper * math.cos(angle)
            bend = angle + 0.25
            wx, wy = ex + fore * math.sin(bend) * facing, ey + fore * math.cos(bend)
        else:
            spread = 0.12 + 0.05 * abs(math.sin(phase))
            ex, ey = sx + upper * math.sin(spread) * out, sy + upper * math.cos(spread)
            wx, wy = ex + fore * math.sin(spread * 0.6) * out, ey + fore * math.cos(spread * 0.6)
        arms.append(((sx, sy), (ex, ey), (wx, wy)))
    return Skeleton(view, facing, size, centre, top, foot, head, shoulder_y, hip_y, shoulders, hips,
                    tuple(arms), tuple(legs), 0.048 * size * identity.build, 0.07 * size * identity.build)
