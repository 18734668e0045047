"""Drawing one synthetic person: every body part is drawn into the RGB image and, with its LIP label
id, into the parsing map in the same call, so the parsing map is exactly what was drawn.

Who the person is, what they wear and how the camera sees them are sampled in ``people``.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import gaussian_filter, zoom

from dlcr_reid.datasets.synthetic.people import (
    BG, COAT, DRESS, FACE, HAIR, LEFT_ARM, LEFT_LEG, LEFT_SHOE, MIRROR_LABELS, PANTS, RIGHT_ARM, RIGHT_LEG,
    RIGHT_SHOE, SKIRT, UPPER, VIEWS, Camera, Identity, Outfit,
)
from dlcr_reid.palette import PALETTE


def _background(camera: Camera, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    wall, wall2 = np.array(camera.wall, np.float32), np.array(camera.wall2, np.float32)
    if camera.background == "gradient":
        t = (ys / height)[..., None]
        image = wall * (1 - t) + wall2 * t
    elif camera.background == "stripes":
        period = max(4, width // 5)
        t = (((xs + rng.integers(period)) // period) % 2)[..., None]
        image = wall * (1 - t) + wall2 * t
    elif camera.background == "tiles":
        size = max(4, width // 6)
        t = ((((xs + rng.integers(size)) // size) + (ys // size)) % 2)[..., None]
        image = wall * (1 - t * 0.5) + wall2 * t * 0.5
    else:
        coarse = rng.random((height // 8 + 2, width // 8 + 2)).astype(np.float32)
        t = zoom(coarse, 8, order=1)[:height, :width][..., None]
        image = wall * (1 - t) + wall2 * t
    horizon = int(camera.horizon * height)
    image[horizon:] = np.array(camera.floor, np.float32)
    return image


class _Painter:
    """Draws each shape into the RGB canvas and, with its LIP id, into the parsing canvas."""

    def __init__(self, height: int, width: int):
        self.rgb = Image.new("RGB", (width, height))
        self.labels = Image.new("L", (width, height), BG)
        self._rgb_draw, self._label_draw = ImageDraw.Draw(self.rgb), ImageDraw.Draw(self.labels)

    def polygon(self, points, colour, label):
        self._rgb_draw.polygon(points, fill=colour)
        self._label_draw.polygon(points, fill=label)

    def ellipse(self, box, colour, label):
        self._rgb_draw.ellipse(box, fill=colour)
        self._label_draw.ellipse(box, fill=label)

    def line(self, points, colour, label, width):
        width = max(1, int(round(width)))
        self._rgb_draw.line(points, fill=colour, width=width)
        self._label_draw.line(points, fill=label, width=width)

    def rectangle(self, box, colour, label):
        self._rgb_draw.rectangle(box, fill=colour)
        self._label_draw.rectangle(box, fill=label)


def _pattern_mask(kind: str, height: int, width: int, period: int, phase: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    if kind == "striped":
        return ((ys + phase) % period) < period // 2
    if kind == "checked":
        return (((ys + phase) // period) + (xs // period)) % 2 == 1
    if kind == "dotted":
        return (((ys + phase) % period) < 2) & ((xs % period) < 2)
    return np.zeros((height, width), bool)


def render_person(identity: Identity, outfit: Outfit, camera: Camera, rng: np.random.Generator,
                  height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """One image of ``identity`` in ``outfit`` seen by ``camera``: (RGB uint8 HxWx3, LIP labels uint8 HxW)."""
    view = camera.view if rng.random() < 0.6 else VIEWS[rng.integers(3)]
    person = height * camera.scale * identity.height_scale * rng.uniform(0.97, 1.03)
    top = (height - person) * rng.uniform(0.25, 0.75)
    cx = width / 2 + rng.uniform(-0.06, 0.06) * width

    def y(frac: float) -> float:
        return top + frac * person

    def px(frac: float) -> float:
        return frac * person

    paint = _Painter(height, width)
    skin, hair = identity.skin, identity.hair
    colour = {name: PALETTE[name] for name in (outfit.top_colour, outfit.inner_colour,
                                               outfit.lower_colour, outfit.shoes_colour)}
    side = view == "side"
    narrow = 0.62 if side else 1.0
    head_h = 0.13 * identity.head_scale
    y_shoulder = head_h + 0.035
    y_hip = 1.0 - identity.leg_length
    y_ankle = 0.955
    y_knee = (y_hip + y_ankle) / 2
    sh, hp = px(identity.shoulder) * narrow, px(identity.hip) * narrow
    limb = px(identity.limb)
    spread = px(identity.leg_spread + rng.uniform(-0.01, 0.01)) + (px(0.05) if side else 0)
    head_w = px(head_h) * 0.38
    head_box = (cx - head_w, y(0), cx + head_w, y(head_h))
    grow = px(identity.hair_volume * head_h)

    # Hair that falls behind the body (front and side views).
    long_hair = identity.hair_style in ("long", "bob")
    hair_end = y_shoulder + (0.16 if identity.hair_style == "long" else 0.0)
    if long_hair and view != "back":
        paint.rectangle((cx - head_w - grow, y(head_h * 0.45), cx + head_w + grow, y(hair_end)), hair, HAIR)

    # Legs, feet, lower garment. Left/right are the person's: in a front view their left is image right.
    legs = ((+1, LEFT_LEG, LEFT_SHOE), (-1, RIGHT_LEG, RIGHT_SHOE))
    for sign, leg_label, shoe_label in legs:
        hip_x = cx + sign * (hp * 0.5 if not side else 0)
        ankle_x = cx + sign * (hp * 0.5 + spread / 2) if not side else cx + sign * spread / 2
        paint.line([(hip_x, y(y_hip)), (ankle_x, y(y_ankle))], skin, leg_label, limb * 1.15)
        foot_dx = px(0.03) if side else px(0.018)
        paint.ellipse((ankle_x - foot_dx - limb * 0.4, y(y_ankle - 0.02), ankle_x + foot_dx + limb * 0.4, y(1.0)),
                      colour[outfit.shoes_colour], shoe_label)
        if outfit.lower in ("trousers", "shorts"):
            end = y_ankle - 0.01 if outfit.lower == "trousers" else y_hip + 0.35 * (y_ankle - y_hip)
            t = (end - y_hip) / (y_ankle - y_hip)
            paint.line([(hip_x, y(y_hip - 0.01)), (hip_x + t * (ankle_x - hip_x), y(end))],
                       colour[outfit.lower_colour], PANTS, limb * 1.15 + 2)
    if outfit.lower in ("trousers", "shorts"):
        paint.polygon([(cx - hp, y(y_hip - 0.03)), (cx + hp, y(y_hip - 0.03)), (cx + hp * 0.8, y(y_hip + 0.06)),
                       (cx - hp * 0.8, y(y_hip + 0.06))], colour[outfit.lower_colour], PANTS)
    skirt_flare = px(0.05) + spread * 0.6
    if outfit.lower == "skirt" or outfit.top == "dress":
        label, name = (DRESS, outfit.top_colour) if outfit.top == "dress" else (SKIRT, outfit.lower_colour)
        paint.polygon([(cx - hp, y(y_hip - 0.04)), (cx + hp, y(y_hip - 0.04)),
                       (cx + hp + skirt_flare, y(y_knee + 0.03)), (cx - hp - skirt_flare, y(y_knee + 0.03))],
                      colour[name], label)

    # Torso.
    top_label = {"dress": DRESS, "coat": COAT}.get(outfit.top, UPPER)
    torso_end = y_hip + (0.14 if outfit.top == "coat" else 0.02)
    paint.rectangle((cx - px(0.028), y(head_h - 0.01), cx + px(0.028), y(y_shoulder + 0.02)), skin, FACE)
    flare = px(0.02) if outfit.top == "coat" else 0
    paint.polygon([(cx - sh, y(y_shoulder)), (cx + sh, y(y_shoulder)), (cx + hp + flare, y(torso_end)),
                   (cx - hp - flare, y(torso_end))], colour[outfit.top_colour], top_label)
    if outfit.top == "coat" and view == "front":  # open coat: the shirt underneath shows
        inner = max(1.0, sh * 0.3)
        paint.polygon([(cx - inner, y(y_shoulder + 0.01)), (cx + inner, y(y_shoulder + 0.01)),
                       (cx + inner * 0.6, y(torso_end)), (cx - inner * 0.6, y(torso_end))],
                      colour[outfit.inner_colour], UPPER)

    # Arms (one in a side view, drawn over the torso), with sleeves.
    sleeve = {"tshirt": 0.35, "shirt": 0.9, "coat": 0.92, "tank": 0.0, "dress": 0.0}[outfit.top]
    sleeve_label = COAT if outfit.top == "coat" else UPPER
    arm_len = px(0.4)
    angle = np.radians(identity.arm_angle + rng.uniform(-3, 3))
    arms = ((0, LEFT_ARM),) if side else ((+1, LEFT_ARM), (-1, RIGHT_ARM))
    for sign, arm_label in arms:
        x0, y0 = cx + sign * (sh - limb * 0.5), y(y_shoulder + 0.015)
        swing = rng.uniform(-0.25, 0.25) if side else 0.0
        dx = (sign * np.sin(angle) if not side else np.sin(swing)) * arm_len
        x1, y1 = x0 + dx, y0 + np.cos(angle) * arm_len
        paint.line([(x0, y0), (x1, y1)], skin, arm_label, limb)
        if sleeve:
            paint.line([(x0, y0), (x0 + sleeve * (x1 - x0), y0 + sleeve * (y1 - y0))],
                       colour[outfit.top_colour], sleeve_label, limb + 1.5)

    # Head: face and hair; the back view shows hair only.
    hair_box = (head_box[0] - grow, head_box[1] - grow, head_box[2] + grow, head_box[3] - px(head_h * 0.35))
    if identity.hair_style == "bald":
        paint.ellipse(head_box, skin, FACE)
    elif view == "back":
        paint.ellipse(head_box, skin, FACE)
        paint.ellipse((hair_box[0], hair_box[1], hair_box[2], head_box[3] - px(head_h * 0.08)), hair, HAIR)
    else:
        paint.ellipse(hair_box, hair, HAIR)
        fringe = {"short": 0.28, "bob": 0.32, "long": 0.3, "bun": 0.22, "spiky": 0.3}[identity.hair_style]
        face_x0 = head_box[0] + (head_w * 0.5 if side else 0)
        paint.ellipse((face_x0, y(head_h * fringe), head_box[2], head_box[3]), skin, FACE)
    if identity.hair_style == "bun":
        r = px(head_h * 0.22)
        paint.ellipse((cx - r, head_box[1] - r * 1.4, cx + r, head_box[1] + r * 0.4), hair, HAIR)
    if identity.hair_style == "spiky":
        spikes = [(cx + k * head_w / 2, head_box[1] - grow - px(head_h * 0.18) * (k % 2 == 0)) for k in range(-2, 3)]
        paint.polygon([(head_box[0] - grow, y(head_h * 0.25))] + spikes + [(head_box[2] + grow, y(head_h * 0.25))],
                      hair, HAIR)
    if long_hair and view == "back":
        paint.rectangle((cx - head_w - grow, y(head_h * 0.5), cx + head_w + grow, y(hair_end)), hair, HAIR)

    if view != "back":
        eye_y = y(head_h * 0.5)
        eye_xs = (cx + head_w * 0.55,) if side else (cx - head_w * 0.45, cx + head_w * 0.45)
        dark = (25, 20, 20)
        for ex in eye_xs:
            paint.rectangle((ex - 0.5, eye_y, ex + 0.5, eye_y + 0.5), dark, FACE)
        if identity.glasses:
            left = cx if side else cx - head_w * 0.9
            paint.line([(left, eye_y), (cx + head_w * 0.9, eye_y)], dark, FACE, 1)
        if identity.beard:
            paint.ellipse((cx - head_w * (0.5 if side else 0.8) + (head_w * 0.3 if side else 0), y(head_h * 0.68),
                           cx + head_w * 0.8, head_box[3]), hair, FACE)
        if identity.mole is not None and view == "front":
            mx, my = cx + identity.mole[0] * head_w * 0.7, y(head_h * (0.55 + 0.25 * identity.mole[1]))
            paint.rectangle((mx, my, mx, my), (60, 35, 30), FACE)

    rgb = np.asarray(paint.rgb, np.float32).copy()
    labels = np.asarray(paint.labels, np.uint8).copy()
    body = labels > 0

    # Patterns on the garments (secondary colour), phase varies per image like folds do.
    period = max(3, int(round(height / 26)))
    for kind, label_ids in ((outfit.top_pattern, (UPPER, COAT, DRESS) if outfit.top != "coat" else (COAT,)),
                            (outfit.lower_pattern, (PANTS, SKIRT))):
        if kind != "plain":
            region = np.isin(labels, label_ids) & _pattern_mask(kind, height, width, period, int(rng.integers(period)))
            rgb[region] = PALETTE[outfit.pattern_colour]

    # Shading: rounded body (darker near the silhouette), soft folds, light from one side.
    roundness = gaussian_filter(body.astype(np.float32), sigma=max(1.0, width / 28))
    folds = zoom(rng.random((height // 16 + 2, width // 16 + 2)).astype(np.float32), 16, order=1)[:height, :width]
    side_light = np.linspace(-1, 1, width, dtype=np.float32)[None, :] * rng.uniform(-0.1, 0.1)
    shade = (0.55 + 0.45 * roundness) * (0.84 + 0.32 * folds) * (1 + side_light)
    background = _background(camera, rng, height, width)
    image = np.where(body[..., None], rgb * shade[..., None], background)

    # Camera: light level and colour cast, lens blur, sensor noise.
    image = image * camera.gain * np.array(camera.cast, np.float32) * rng.uniform(0.93, 1.07)
    sigma = camera.blur * height / 128
    if sigma > 0.2:
        image = gaussian_filter(image, sigma=(sigma, sigma, 0))
    image = image + rng.normal(0, 2.0, image.shape)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)

    if rng.random() < 0.5:  # mirror: a person walking the other way; left and right labels swap
        image, labels = image[:, ::-1].copy(), labels[:, ::-1].copy()
        swapped = labels.copy()
        for a, b in MIRROR_LABELS.items():
            swapped[labels == a] = b
        labels = swapped
    return image, labels
