"""The recolor inpainting backend: prompt parsing, region mapping, colour, shading, mask, determinism."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlcr_assets.inpainting import load_inpainter
from dlcr_assets.inpainting.base import InpaintJob
from dlcr_assets.inpainting.recolor import RecolorInpainter, parse_outfit_prompt
from dlcr_assets.params.generation import GenerationParams
from dlcr_assets.garments import COLOURS
from dlcr_reid.datasets.synthetic.write import plan_dataset, render_image
from dlcr_reid.params import SyntheticParams

NOT_CLOTHES = [0, 1, 2, 13, 14, 15, 16, 17]


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


@pytest.fixture(scope="module")
def people() -> list[tuple[Image.Image, np.ndarray]]:
    """Synthetic people with their ground-truth parsing maps (the backend's real input in the demo)."""
    params = SyntheticParams(root=Path("unused"), train_ids=6, test_ids=2, height=128, width=64)
    world = plan_dataset(params)
    items = [i for i in world.images if i.folder == "train"][::7][:12]
    return [(Image.fromarray(image), labels) for image, labels in (render_image(params, world, i) for i in items)]


def clothes_mask(labels: np.ndarray) -> Image.Image:
    return Image.fromarray((~np.isin(labels, NOT_CLOTHES) * 255).astype(np.uint8))


def test_parse_outfit_prompt_reads_colour_pattern_garment():
    items = parse_outfit_prompt("Red coat, white striped T-shirt, light blue jeans and black shoes, a hat")
    assert [(i.garment, i.region, i.colour, i.pattern) for i in items] == [
        ("coat", "coat", "red", "plain"), ("t-shirt", "upper", "white", "striped"),
        ("jeans", "lower", "light blue", "plain"), ("shoes", "shoes", "black", "plain")]
    assert parse_outfit_prompt("tank top")[0].colour is None
    assert parse_outfit_prompt("nothing known here") == []


def test_pixels_outside_the_mask_are_untouched(people):
    inpainter = RecolorInpainter()
    for seed, (image, labels) in enumerate(people):
        out = np.asarray(inpainter.inpaint([InpaintJob(image, clothes_mask(labels), "red t-shirt, navy trousers",
                                                       seed, labels)])[0])
        outside = np.isin(labels, NOT_CLOTHES)
        assert out.shape == np.asarray(image).shape
        assert np.array_equal(out[outside], np.asarray(image)[outside])
        assert not np.array_equal(out[~outside], np.asarray(image)[~outside])


def test_named_colour_is_painted_on_synthetic_people(people):
    inpainter = RecolorInpainter()
    checked = 0
    for seed, (image, labels) in enumerate(people):
        upper = labels == 5
        if upper.sum() < 150 or (labels == 7).any():  # a plain shirt region big enough to measure
            continue
        out = np.asarray(inpainter.inpaint([InpaintJob(image, clothes_mask(labels), "green t-shirt, beige trousers",
                                                       seed, labels)])[0]).astype(np.float32)
        painted = out[upper]
        # Colour: chromaticity of the painted region matches the vocabulary's green.
        target = np.array(COLOURS["green"], np.float32)
        chroma = painted.mean(0) / painted.mean(0).sum()
        assert np.abs(chroma - target / target.sum()).max() < 0.05
        assert luminance(painted).std() > 3.0  # shaded, not a flat fill
        checked += 1
    assert checked >= 2


def test_shading_of_a_plain_garment_survives_recolouring():
    """A plain garment lit unevenly (rounded body, light from the left) keeps that light pattern."""
    height, width = 128, 64
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    labels = np.zeros((height, width), np.uint8)
    labels[30:70, 16:48], labels[70:120, 18:46] = 5, 9
    shade = (0.6 + 0.4 * np.cos((xs - 32) / 16 * np.pi / 2) ** 2) * (1.1 - 0.3 * xs / width)
    source = np.full((height, width, 3), 90.0, np.float32)
    source[labels == 5] = np.array([200, 30, 35]) * shade[labels == 5, None]
    source[labels == 9] = np.array([35, 80, 200]) * shade[labels == 9, None]
    image = Image.fromarray(np.clip(source, 0, 255).astype(np.uint8))
    out = np.asarray(RecolorInpainter().inpaint([InpaintJob(image, clothes_mask(labels),
                                                            "yellow t-shirt, green trousers", 7, labels)])[0])
    for label, name in ((5, "yellow"), (9, "green")):
        region = labels == label
        before, after = luminance(np.asarray(image)[region]), luminance(out[region])
        assert np.corrcoef(before, after)[0, 1] > 0.9
        mean = out[region].astype(np.float32).mean(0)
        assert np.abs(mean / mean.sum() - np.array(COLOURS[name]) / sum(COLOURS[name])).max() < 0.03


def test_pattern_and_garment_type_change_within_the_mask(people):
    image, labels = next((i, l) for i, l in people if (l == 9).sum() > 100)
    out = np.asarray(RecolorInpainter().inpaint([InpaintJob(image, clothes_mask(labels),
                                                            "yellow striped shirt, red skirt", 1, labels)])[0])
    lower = out[labels == 9].astype(np.float32)  # trousers painted as the skirt's colour
    assert np.abs(lower.mean(0) / lower.mean(0).sum() - np.array(COLOURS["red"]) / sum(COLOURS["red"])).max() < 0.06
    upper = out[(labels == 5) | (labels == 7)].astype(np.float32)
    assert luminance(upper).std() > 25  # stripes: dark accents on yellow


def test_unnamed_regions_get_a_seeded_colour_and_results_are_deterministic(people):
    image, labels = people[0]
    inpainter = load_inpainter(GenerationParams(backend="recolor"), "cpu")
    assert (inpainter.backend, inpainter.model_id) == ("recolor", "recolor")
    jobs = [InpaintJob(image, clothes_mask(labels), "black shoes", seed, labels) for seed in (1, 1, 2, 3, 4)]
    outs = [np.asarray(o) for o in inpainter.inpaint(jobs)]
    assert np.array_equal(outs[0], outs[1])
    assert any(not np.array_equal(outs[0], other) for other in outs[2:])
    assert not np.array_equal(outs[0][np.isin(labels, (5, 6, 7))], np.asarray(image)[np.isin(labels, (5, 6, 7))])


def test_without_a_label_map_the_mask_is_split_into_bands():
    image = Image.new("RGB", (32, 64), (128, 128, 128))
    mask = np.zeros((64, 32), np.uint8)
    mask[10:60, 8:24] = 255
    out = np.asarray(RecolorInpainter().inpaint([InpaintJob(image, Image.fromarray(mask),
                                                            "red shirt, blue trousers, white shoes", 0)])[0])
    assert np.allclose(out[15, 16], COLOURS["red"], atol=2)
    assert np.allclose(out[45, 16], COLOURS["blue"], atol=2)
    assert np.allclose(out[59, 16], COLOURS["white"], atol=2)
    assert np.array_equal(out[mask == 0], np.asarray(image)[mask == 0])
