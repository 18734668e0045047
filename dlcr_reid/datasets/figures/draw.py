"""Drawing one figure: shapes into a part canvas (one id per garment / body part), then colours and light.

Each drawn shape carries a part id; a part has a LIP label (SPEC §1.3), a colour, a texture and
its second colour. The label map is the part canvas passed through the part -> label table, so the
parsing map and the pixels come from the same shapes. People are drawn at twice the output size and
box-filtered down (the map is sampled with nearest-neighbour), then the camera's light, colour cast,
blur and noise are applied.
"""
from __future__ import annotations

from PIL import Image, ImageDraw

from dlcr_reid.datasets.figures.people import TEXTURES, Identity, Outfit, Skeleton

SUPERSAMPLE = 2
HAIR, SUNGLASSES, UPPER, DRESS, COAT, PANTS, SCARF, SKIRT, FACE = 2, 4, 5, 6, 7, 9, 11, 12, 13
LEFT_ARM, RIGHT_ARM, LEFT_LEG, RIGHT_LEG, LEFT_SHOE, RIGHT_SHOE = 14, 15, 16, 17, 18, 19
GARMENT_LABELS = {"tshirt": UPPER, "shirt": UPPER, "tank": UPPER, "sweater": UPPER, "dress": DRESS,
                  "coat": COAT, "trousers": PANTS, "shorts": PANTS, "skirt": SKIRT, "scarf": SCARF}


class Canvas:
    """Shapes drawn as part ids on an 8-bit image; ``parts`` holds (label, colour, second, texture)."""

    def __init__(self, height: int, width: int) -> None:
        self.image = Image.new("L", (width, height), 0)
        self.pen = ImageDraw.Draw(self.image)
        self.parts: list[tuple[int, tuple, tuple, int]] = [(0, (0, 0, 0), (0, 0, 0), 0)]

    def part(self, label: int, colour, second=None, texture: str = "plain") -> int:
        self.parts.append((label, tuple(colour), tuple(second or colour), TEXTURES.index(texture)))
        return len(self.parts) - 1

    def garment(self, garment, label: int | None = None) -> int:
        return self.part(label or GARMENT_LABELS[garment.kind], garment.colour, garment.second, garment.texture)

    def capsule(self, part: int, points, width: float) -> None:
        """A limb: a thick polyline with round joints and ends."""
        points = [(float(x), float(y)) for x, y in points]
        self.pen.line(points, fill=part, width=max(1, round(width)), joint="curve")
        r = width / 2
        for x, y in (points[0], points[-1]):
            self.pen.ellipse((x - r, y - r, x + r, y + r), fill=part)

    def polygon(self, part: int, points) -> None:
        self.pen.polygon([(float(x), float(y)) for x, y in points], fill=part)

    def ellipse(self, part: int, box, outline: bool = False) -> None:
        if outline:
            self.pen.ellipse(tuple(float(v) for v in box), outline=part, width=1)
        else:
            self.pen.ellipse(tuple(float(v) for v in box), fill=part)


def _along(a, b, t: float):
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _side_labels(sk: Skeleton) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(arm, leg, shoe) labels of the image-left and image-right limbs: a front view mirrors the person."""
    mirrored = sk.view == "front" or sk.view == "left"
    if mirrored:
        return (RIGHT_ARM, LEFT_ARM), (RIGHT_LEG, LEFT_LEG), (RIGHT_SHOE, LEFT_SHOE)
    return (LEFT_ARM, RIGHT_ARM), (LEFT_LEG, RIGHT_LEG), (LEFT_SHOE, RIGHT_SHOE)


def _arm(c: Canvas, person: Identity, outfit: Outfit, sk: Skeleton, n: int, label: int, parts: dict) -> None:
    shoulder, elbow, wrist = sk.arms[n]
    w = sk.arm_width
    skin = c.part(label, person.skin)
    c.capsule(skin, (shoulder, elbow, wrist), w)
    c.ellipse(skin, (wrist[0] - 0.6 * w, wrist[1] - 0.5 * w, wrist[0] + 0.6 * w, wrist[1] + 0.8 * w))
    top = outfit.top
    if outfit.coat is not None:
        c.capsule(parts["coat"], (shoulder, elbow, _along(elbow, wrist, 0.9)), w * 1.35)
    elif top.kind in ("shirt", "sweater"):
        c.capsule(parts["top"], (shoulder, elbow, _along(elbow, wrist, 0.92)), w * (1.3 if top.kind == "sweater" else 1.15))
    elif top.kind == "tshirt" or (top.kind == "dress" and top.length > 0.5):
        c.capsule(parts["top"], (shoulder, _along(shoulder, elbow, 0.5 + 0.2 * top.length)), w * 1.25)


def _lower(c: Canvas, outfit: Outfit, sk: Skeleton, parts: dict) -> None:
    s, lw, (l_hip, r_hip) = sk.size, sk.leg_width, sk.hips
    leg_span = sk.foot - sk.hip_y
    if outfit.bottom is None:  # the dress's skirt
        hem = sk.hip_y + (0.3 + 0.4 * outfit.top.length) * leg_span
        flare = (r_hip[0] - l_hip[0]) * 0.5 + lw * 1.1
        c.polygon(parts["top"], [(l_hip[0] - 0.2 * lw, sk.hip_y - 0.06 * s), (r_hip[0] + 0.2 * lw, sk.hip_y - 0.06 * s),
                                 (sk.centre + flare, hem), (sk.centre - flare, hem)])
        return
    kind, part = outfit.bottom.kind, parts["bottom"]
    waist = [(l_hip[0] - 0.35 * lw, sk.hip_y - 0.03 * s), (r_hip[0] + 0.35 * lw, sk.hip_y - 0.03 * s)]
    if kind == "skirt":
        hem = sk.hip_y + (0.22 + 0.45 * outfit.bottom.length) * leg_span
        flare = (r_hip[0] - l_hip[0]) * 0.5 + lw * (0.9 + 0.6 * outfit.bottom.length)
        c.polygon(part, waist + [(sk.centre + flare, hem), (sk.centre - flare, hem)])
        return
    for hip, knee, ankle in sk.legs:
        if kind == "trousers":
            c.capsule(part, (hip, knee, _along(knee, ankle, 0.95)), lw * 1.08)
        else:  # shorts end on the thigh or just above the knee
            c.capsule(part, (hip, _along(hip, knee, 0.45 + 0.45 * outfit.bottom.length)), lw * 1.25)
    c.polygon(part, waist + [(r_hip[0] + 0.2 * lw, sk.hip_y + 0.07 * s), (sk.centre, sk.hip_y + 0.11 * s),
                             (l_hip[0] - 0.2 * lw, sk.hip_y + 0.07 * s)])


def _torso(c: Canvas, outfit: Outfit, sk: Skeleton, parts: dict) -> None:
    s, (ls, rs), (lh, rh) = sk.size, sk.shoulders, sk.hips
    narrow = 0.72 if outfit.top.kind in ("tank", "dress") and outfit.top.length <= 0.5 else 1.0
    mid = (ls[0] + rs[0]) / 2
    top_l, top_r = mid + (ls[0] - mid) * narrow, mid + (rs[0] - mid) * narrow
    hem = sk.hip_y + 0.045 * s
    c.polygon(parts["top"], [(top_l, sk.shoulder_y - 0.012 * s), (top_r, sk.shoulder_y - 0.012 * s),
                             (rh[0] + 0.012 * s, hem), (lh[0] - 0.012 * s, hem)])
    if narrow == 1.0:  # rounded shoulders of a sleeved top
        r = sk.arm_width * 0.6
        for x, y in (ls, rs):
            c.ellipse(parts["top"], (x - r, y - r * 0.8, x + r, y + r * 1.2))
    coat = outfit.coat
    if coat is None:
        return
    hem = sk.hip_y + (0.1 + 0.5 * coat.length) * (sk.foot - sk.hip_y)
    c.polygon(parts["coat"], [(ls[0] - 0.01 * s, sk.shoulder_y - 0.015 * s), (rs[0] + 0.01 * s, sk.shoulder_y - 0.015 * s),
                              (rh[0] + 0.035 * s, hem), (lh[0] - 0.035 * s, hem)])
    if sk.view == "front":  # an open coat shows the top underneath
        gap = (rs[0] - ls[0]) * 0.12
        c.polygon(parts["top"], [(mid - gap, sk.shoulder_y), (mid + gap, sk.shoulder_y),
                                 (mid + gap * 0.8, sk.hip_y), (mid - gap * 0.8, sk.hip_y)])


def _head(c: Canvas, person: Identity, sk: Skeleton) -> None:
    x0, y0, x1, y1 = sk.head
    w, h = x1 - x0, y1 - y0
    hair = c.part(HAIR, person.hair)
    style = person.hair_style
    grow = {"buzz": 0.02, "curly": 0.2}.get(style, 0.07) * w
    depth = {"buzz": 0.24, "curly": 0.46}.get(style, 0.36) * h
    if sk.view == "back":
        c.ellipse(hair, (x0 - grow, y0 - grow, x1 + grow, y1 + grow * 0.3))
    else:
        face = c.part(FACE, person.skin)
        c.ellipse(face, (x0, y0, x1, y1))
        if sk.view != "front":  # from the side the hair covers the back of the head
            back = -sk.facing * 0.38 * w
            c.ellipse(hair, (x0 + back - grow, y0 - grow, x1 + back + grow, y1 - 0.25 * h))
            c.ellipse(face, (x0 + 0.45 * w * (sk.facing > 0), y0 + 0.3 * h, x1 - 0.45 * w * (sk.facing < 0), y1))
        c.pen.chord((x0 - grow, y0 - grow, x1 + grow, y0 + 2 * depth), 180, 360, fill=hair)
        eye = c.part(FACE, (35, 25, 25))
        ey, r = y0 + 0.56 * h, max(0.7, 0.06 * w)
        xs = (x0 + 0.3 * w, x1 - 0.3 * w) if sk.view == "front" else (x0 + w * (0.5 + 0.3 * sk.facing),)
        for ex in xs:
            c.ellipse(eye, (ex - r, ey - r, ex + r, ey + r))
            if person.glasses:
                c.ellipse(eye, (ex - 2.6 * r, ey - 2 * r, ex + 2.6 * r, ey + 2 * r), outline=True)
        if person.beard:
            c.pen.chord((x0 + 0.05 * w, y0 + 0.35 * h, x1 - 0.05 * w, y1 + 0.03 * h), 20, 160, fill=hair)
    if style == "bun":
        c.ellipse(hair, (x0 + 0.3 * w, y0 - 0.28 * h, x1 - 0.3 * w, y0 + 0.12 * h))
    elif style == "ponytail" and sk.view != "front":
        bx = (x0 + x1) / 2 if sk.view == "back" else (x0 if sk.facing > 0 else x1)
        c.capsule(hair, ((bx, y0 + 0.3 * h), (bx - 0.1 * w * sk.facing, y1 + 0.35 * h)), 0.3 * w)


def draw_figure(person: Identity, outfit: Outfit, sk: Skeleton, c: Canvas) -> None:
    """Paint one figure, back to front, into the canvas."""
    arm_labels, leg_labels, shoe_labels = _side_labels(sk)
    parts = {"top": c.garment(outfit.top)}
    if outfit.bottom is not None:
        parts["bottom"] = c.garment(outfit.bottom)
    if outfit.coat is not None:
        parts["coat"] = c.garment(outfit.coat)
    x0, y0, x1, y1 = sk.head
    hair = c.part(HAIR, person.hair)
    if person.hair_style == "long" and sk.view != "back":  # hair behind the shoulders
        c.polygon(hair, [(x0 - 0.08 * (x1 - x0), y0 + 0.3 * (y1 - y0)), (x1 + 0.08 * (x1 - x0), y0 + 0.3 * (y1 - y0)),
                         (x1 + 0.1 * (x1 - x0), sk.shoulder_y + 0.1 * sk.size), (x0 - 0.1 * (x1 - x0), sk.shoulder_y + 0.1 * sk.size)])
    side = sk.view in ("left", "right")
    if side:  # the far arm is hidden behind the body
        _arm(c, person, outfit, sk, 0, arm_labels[0], parts)
    for n, points in enumerate(sk.legs):
        c.capsule(c.part(leg_labels[n], person.skin), points, sk.leg_width * 0.85)
    _lower(c, outfit, sk, parts)
    for n, (_, _, (ax, ay)) in enumerate(sk.legs):
        shoe = c.part(shoe_labels[n], outfit.shoes.colour)
        half = 0.045 * sk.size if side else sk.leg_width * 0.5
        ahead = 0.03 * sk.size * sk.facing if side else 0.0
        c.ellipse(shoe, (ax - half + ahead, ay - 0.012 * sk.size, ax + half + ahead, ay + 0.03 * sk.size))
    neck = c.part(FACE, person.skin)
    nx, nw = (x0 + x1) / 2, 0.2 * (x1 - x0)
    c.polygon(neck, [(nx - nw, y1 - 0.2 * (y1 - y0)), (nx + nw, y1 - 0.2 * (y1 - y0)),
                     (nx + nw * 1.2, sk.shoulder_y + 0.01 * sk.size), (nx - nw * 1.2, sk.shoulder_y + 0.01 * sk.size)])
    _torso(c, outfit, sk, parts)
    for n in ((1,) if side else (0, 1)):
        _arm(c, person, outfit, sk, n, arm_labels[n], parts)
    if outfit.scarf is not None:
        scarf = c.garment(outfit.scarf)
        (ls, rs), y = sk.shoulders, sk.shoulder_y
        c.capsule(scarf, ((ls[0] * 0.6 + rs[0] * 0.4, y), (ls[0] * 0.4 + rs[0] * 0.6, y)), 0.055 * sk.size)
        if sk.view == "front":
            c.capsule(scarf, ((nx + nw, y), (nx + nw * 1.5, y + 0.16 * sk.size)), 0.04 * sk.size)
    _head(c, person, sk)
    if person.hair_style == "long" and sk.view == "back":
        c.polygon(hair, [(x0 - 0.05 * (x1 - x0), y0 + 0.4 * (y1 - y0)), (x1 + 0.05 * (x1 - x0), y0 + 0.4 * (y1 - y0)),
                         (x1 + 0.1 * (x1 - x0), sk.shoulder_y + 0.12 * sk.size), (x0 - 0.1 * (x1 - x0), sk.shoulder_y + 0.12 * sk.size)])
