"""One image of the figures renderer: background, the drawn figure in colour and light, then the camera.

Returns the RGB image and its LIP label map at the output size (see ``draw`` for how they agree).
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from dlcr_reid.datasets.figures.draw import SUPERSAMPLE, Canvas, draw_figure
from dlcr_reid.datasets.figures.people import Camera, Identity, Outfit, pose


def _patterns(xs: np.ndarray, ys: np.ndarray, period: float, left: float, top: float) -> np.ndarray:
    """Boolean texture values at the given pixels, one row per ``people.TEXTURES`` entry, anchored on the figure."""
    x, y = (xs - left) / period, (ys - top) / period
    stripes_h, stripes_v = (np.floor(y) % 2) == 1, (np.floor(x) % 2) == 1
    dots = ((x * 0.6) % 1 - 0.5) ** 2 + ((y * 0.6) % 1 - 0.5) ** 2 < 0.07
    return np.stack([np.zeros_like(dots), stripes_h, stripes_v, stripes_h ^ stripes_v, dots])


def _background(camera: Camera, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    horizon = int(camera.horizon * height)
    ramp = np.linspace(0.85, 1.1, height, dtype=np.float32)[:, None, None]
    rows = np.where(np.arange(height)[:, None] < horizon, 0, 1)
    image = np.repeat(np.asarray([camera.wall, camera.floor], dtype=np.float32)[rows], width, axis=1)
    for x0, y0, x1, y1, colour in camera.panels:
        ys, ye = int(y0 * horizon), int(min(y1, 1.0) * horizon)
        image[ys:ye, int(x0 * width):int(min(x1, 1.0) * width)] = colour
    # the view moves a little between shots of one camera
    image = np.roll(image, int(rng.integers(-width // 8, width // 8 + 1)), axis=1)
    image *= ramp
    return image


def render_image(person: Identity, outfit: Outfit, camera: Camera, rng: np.random.Generator,
                 height: int, width: int) -> tuple[Image.Image, Image.Image]:
    """(RGB image, label map in mode L) of one person in one outfit seen by one camera."""
    big_h, big_w = height * SUPERSAMPLE, width * SUPERSAMPLE
    sk = pose(person, camera, rng, big_h, big_w)
    canvas = Canvas(big_h, big_w)
    draw_figure(person, outfit, sk, canvas)
    parts = np.asarray(canvas.image)
    labels = np.array([p[0] for p in canvas.parts], dtype=np.uint8)
    colour = np.array([p[1] for p in canvas.parts], dtype=np.float32)
    second = np.array([p[2] for p in canvas.parts], dtype=np.float32)
    texture = np.array([p[3] for p in canvas.parts], dtype=np.int64)

    ys, xs = np.nonzero(parts)  # colour only the figure's pixels
    which = parts[ys, xs]
    patterns = _patterns(xs.astype(np.float32), ys.astype(np.float32), max(3.0, 0.035 * sk.size), sk.centre, sk.top)
    picked = patterns[texture[which], np.arange(len(which))]
    person_rgb = np.where(picked[:, None], second[which], colour[which])
    # rounded look: darker towards the silhouette's edges, brighter on the camera's lit side
    soft = np.asarray(Image.fromarray(((parts > 0) * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(max(1.0, 0.02 * sk.size))), dtype=np.float32)[ys, xs] / 255.0
    side = np.clip((xs - sk.centre) / (0.15 * sk.size), -1, 1) * camera.light
    shade = (0.62 + 0.38 * soft) * (1.0 + 0.15 * side)
    # the figure is box-filtered down premultiplied with its coverage, then laid over a background
    # drawn at the output size (the same result as filtering the whole scene, at a quarter of the work)
    figure = np.zeros((big_h, big_w, 3), dtype=np.uint8)
    figure[ys, xs] = np.clip(person_rgb * shade[:, None], 0, 255).astype(np.uint8)
    small_rgb = np.asarray(Image.fromarray(figure).resize((width, height), Image.BOX), dtype=np.float32)
    cover = np.asarray(Image.fromarray(((parts > 0) * 255).astype(np.uint8)).resize((width, height), Image.BOX),
                       dtype=np.float32)[..., None] / 255.0
    scene = _background(camera, height, width, rng)
    cx, foot, rx, ry = sk.centre / SUPERSAMPLE, sk.foot / SUPERSAMPLE, 0.1 * sk.size, 0.015 * sk.size
    x0, x1 = max(0, int(cx - rx)), min(width, int(cx + rx) + 1)
    y0, y1 = max(0, int(foot - ry)), min(height, int(foot + ry) + 1)
    gy, gx = np.mgrid[y0:y1, x0:x1]
    ground = ((gx + 0.5 - cx) / rx) ** 2 + ((gy + 0.5 - foot) / ry) ** 2 < 1
    scene[y0:y1, x0:x1][ground] *= 0.6  # the figure's shadow on the floor
    composite = small_rgb + (1.0 - cover) * scene

    label_map = Image.fromarray(labels[parts]).resize((width, height), Image.NEAREST)
    # the camera: exposure, colour cast, contrast, focus, sensor noise
    gain = camera.gain * float(rng.uniform(0.9, 1.1))
    pixels = composite * gain * np.asarray(camera.cast, dtype=np.float32)
    pixels = (pixels - 128.0) * camera.contrast + 128.0
    shot = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    radius = camera.blur + float(rng.uniform(0.0, 0.3))
    if radius > 0.15:
        shot = shot.filter(ImageFilter.GaussianBlur(radius))
    noisy = np.asarray(shot, dtype=np.float32) + rng.normal(0.0, camera.noise, (height, width, 3)).astype(np.float32)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), label_map
