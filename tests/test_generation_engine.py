"""The generation engine with a simple in-test inpainter: compositing, outfits, seeds, resume, shards."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dlcr_assets.generation import MANIFEST_COLUMNS, generate_images, plan_generation
from dlcr_assets.generation.seeds import image_seed
from dlcr_assets.inpainting.base import InpaintJob
from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.params.generation import GenerationParams
from dlcr_assets.params.masks import MasksParams
from tiny_vision_models import make_tiny_dataset


class PaintInpainter:
    """Paints the whole image with noise drawn from the job's seed (so results are reproducible)."""

    backend = "test-paint"
    model_id = "in-test"
    needs_label_map = True

    def pixel_settings(self) -> dict:
        return {"backend": self.backend, "model_id": self.model_id}

    def __init__(self, fail_after_batches: int | None = None):
        self.batches = 0
        self.fail_after_batches = fail_after_batches

    def inpaint(self, jobs: list[InpaintJob]) -> list[Image.Image]:
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise RuntimeError("injected crash")
        self.batches += 1
        return [Image.fromarray(np.random.default_rng(job.seed).integers(0, 256, (job.image.height, job.image.width, 3),
                                                                          dtype=np.uint8)) for job in jobs]


@pytest.fixture()
def tiny(tmp_path):
    index, prompts = make_tiny_dataset(tmp_path / "raw")
    masks = make_clothing_masks(index, MasksParams(), tmp_path / "masks" / "tiny")
    return tmp_path, index, masks, prompts


def _run(tmp_path, index, masks, prompts, params, inpainter=None, shard=(0, 1), name="generated"):
    return generate_images(index, masks, prompts, params, tmp_path / name / "tiny", tmp_path / name / "tiny.parquet",
                           shard=shard, device="cpu", dataset="tiny", inpainter=inpainter or PaintInpainter())


def test_generated_images_change_only_the_clothes(tiny):
    tmp_path, index, masks, prompts = tiny
    params = GenerationParams(variants_per_image=3, batch_size=5)
    manifest = _run(tmp_path, index, masks, prompts, params)
    assert list(manifest.columns) == MANIFEST_COLUMNS
    train = index[index["split"] == "train"].set_index("path")
    assert len(manifest) == 3 * len(train) and set(manifest["status"]) == {"ok"}
    assert all(sorted(v) == [0, 1, 2] for v in manifest.groupby("source_path")["variant"].apply(list))
    masks_by_path = masks.set_index("path")
    for _, row in manifest.iterrows():
        source = np.asarray(Image.open(row["source_path"]).convert("RGB"))
        generated = np.asarray(Image.open(row["path"]))
        inside = np.asarray(Image.open(masks_by_path.at[row["source_path"], "mask_path"])) > 127
        assert generated.shape == source.shape
        assert np.array_equal(generated[~inside], source[~inside])  # every outside pixel is the source's
        assert not np.array_equal(generated[inside], source[inside])
        own = f"{train.at[row['source_path'], 'pid']}_{train.at[row['source_path'], 'clothes_id']}"
        assert row["outfit_key"] != own
        assert row["seed"] == image_seed("tiny", row["path"].split("/tiny/")[1].rsplit("_v", 1)[0], row["variant"])
    # a source image's variants use distinct outfits while the pool has enough of them
    assert (manifest.groupby("source_path")["outfit_key"].nunique() == 3).all()
    assert manifest["path"].iloc[0].endswith("generated/tiny/train/000_1_c1_000_v00.png")


def test_plan_is_reproducible_and_seeded(tiny):
    tmp_path, index, masks, prompts = tiny
    params = GenerationParams(variants_per_image=4)
    first = plan_generation(index, masks, prompts, params, tmp_path / "g", "tiny")
    shuffled = plan_generation(index.sample(frac=1.0, random_state=1), masks, prompts.sample(frac=1.0, random_state=2),
                               params, tmp_path / "g", "tiny")
    key = lambda p: (p.source_path, p.variant)  # noqa: E731
    assert sorted((key(p), p.outfit_key, p.seed) for p in first) == sorted((key(p), p.outfit_key, p.seed) for p in shuffled)
    other_seed = plan_generation(index, masks, prompts, params.model_copy(update={"seed": 1}), tmp_path / "g", "tiny")
    assert [p.seed for p in other_seed] != [p.seed for p in first]
    dataset_only = plan_generation(index, masks, prompts, params.model_copy(update={"pool": "dataset"}), tmp_path / "g", "tiny")
    assert not any(p.outfit_key.startswith("novel") for p in dataset_only)


def test_regenerating_one_image_is_bit_identical(tiny):
    tmp_path, index, masks, prompts = tiny
    params = GenerationParams(variants_per_image=2, batch_size=3)
    manifest = _run(tmp_path, index, masks, prompts, params)
    one = index[index["path"] == manifest["source_path"].iloc[5]]
    again = _run(tmp_path, one, masks, prompts, params, name="again")
    for _, row in again.iterrows():
        original = manifest[(manifest["source_path"] == row["source_path"]) & (manifest["variant"] == row["variant"])].iloc[0]
        assert Path(row["path"]).read_bytes() == Path(original["path"]).read_bytes()
        assert (row["outfit_key"], row["seed"]) == (original["outfit_key"], original["seed"])


def test_crash_then_resume_loses_nothing_and_redoes_nothing(tiny):
    tmp_path, index, masks, prompts = tiny
    params = GenerationParams(variants_per_image=3, batch_size=4)
    with pytest.raises(RuntimeError, match="injected crash"):
        _run(tmp_path, index, masks, prompts, params, inpainter=PaintInpainter(fail_after_batches=3))
    out_dir = tmp_path / "generated" / "tiny"
    first_files = {p: p.stat().st_mtime_ns for p in out_dir.rglob("*_v*.png")}
    assert len(first_files) == 12  # the 3 finished batches, all with manifest rows in part files
    parts = pd.concat([pd.read_parquet(p) for p in out_dir.glob("manifest/shard-0-of-1/part-*.parquet")])
    assert sorted(parts["path"]) == sorted(str(p) for p in first_files)

    resumed_by = PaintInpainter()
    manifest = _run(tmp_path, index, masks, prompts, params, inpainter=resumed_by)
    assert resumed_by.batches == 9  # the 36 missing images, in batches of 4
    assert manifest.attrs["run"]["skipped"] == 12 and manifest.attrs["run"]["generated"] == 36
    assert len(manifest) == 48 and not manifest.duplicated(["source_path", "variant"]).any()
    assert all(Path(p).is_file() for p in manifest["path"])
    assert not list(out_dir.rglob("*.tmp"))
    assert {p: p.stat().st_mtime_ns for p in first_files} == first_files  # first-run files untouched


def test_paper_profile_fills_unset_fields_only():
    from dlcr_assets.params import parse_params
    from dlcr_assets.params.generation import PAPER_GENERATION

    paper = parse_params({"profile": "paper", "generation": {"steps": 20, "scheduler": "dpm++"}}).generation
    assert (paper.steps, paper.scheduler) == (20, "dpm++")
    assert (paper.backend, paper.dtype, paper.width, paper.height, paper.guidance, paper.variants_per_image) == (
        "diffusers", "fp16", 256, 768, 7.5, 10)
    assert PAPER_GENERATION["model_id"] == "stable-diffusion-v1-5/stable-diffusion-inpainting"
    demo = GenerationParams()
    assert demo.backend == "recolor" and parse_params({}).generation == demo
    with pytest.raises(ValueError):
        MasksParams(min_coverage=0.5, max_coverage=0.4)
