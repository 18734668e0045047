"""The diffusers backend with a tiny SD inpainting pipeline loaded offline under the production id,
the recolor backend through the engine, and the `dlcr clothing-masks/generated-images/query-variants` commands."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dlcr_assets.errors import StepInputError
from dlcr_assets.generation import generate_images, generate_query_variants
from dlcr_assets.inpainting import load_inpainter
from dlcr_assets.inpainting.base import InpaintJob
from dlcr_assets.inpainting.diffusers_backend import DiffusersInpainter
from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.params.generation import SD15_INPAINTING_ID, GenerationParams
from dlcr_assets.params.masks import MasksParams
from hf_cache import install_in_hf_cache, use_offline_cache
from tiny_vision_models import build_tiny_sd_inpainting, make_tiny_dataset

DIFFUSERS = dict(backend="diffusers", model_id=SD15_INPAINTING_ID, steps=2, width=32, height=64, batch_size=4,
                 variants_per_image=2)
# Regenerating an image in another batch: at most this many 8-bit levels on at most this fraction of
# pixels (measured here: one level on 1 pixel of 2,048; benchmarks/batch_invariance.py measures it).
BATCH_TOLERANCE_LEVELS = 4
BATCH_TOLERANCE_FRACTION = 0.01


@pytest.fixture(scope="session")
def sd_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd")
    folder = build_tiny_sd_inpainting(root / "model")
    install_in_hf_cache(folder, root / "hf_home" / "hub", SD15_INPAINTING_ID)
    return root / "hf_home"


@pytest.fixture()
def tiny(tmp_path):
    index, prompts = make_tiny_dataset(tmp_path / "raw", train_ids=2)
    masks = make_clothing_masks(index, MasksParams(), tmp_path / "masks" / "tiny")
    return tmp_path, index, masks, prompts


def _outside_is_source(manifest, masks) -> None:
    mask_of = masks.set_index("path")["mask_path"]
    for _, row in manifest.iterrows():
        source = np.asarray(Image.open(row["source_path"]).convert("RGB"))
        generated = np.asarray(Image.open(row["path"]))
        inside = np.asarray(Image.open(mask_of[row["source_path"]])) > 127
        assert np.array_equal(generated[~inside], source[~inside])
        assert not np.array_equal(generated[inside], source[inside])


def test_diffusers_generation_under_the_production_id(sd_home, tiny, monkeypatch):
    use_offline_cache(monkeypatch, sd_home / "hub")
    tmp_path, index, masks, prompts = tiny
    params = GenerationParams(**DIFFUSERS)
    manifest = generate_images(index, masks, prompts, params, tmp_path / "gen" / "tiny", tmp_path / "gen" / "tiny.parquet",
                               device="cpu", dataset="tiny")
    assert len(manifest) == 16 and set(manifest["status"]) == {"ok"}
    assert set(manifest["backend"]) == {"diffusers"} and set(manifest["model_id"]) == {SD15_INPAINTING_ID}
    _outside_is_source(manifest, masks)
    own = index.set_index("path").apply(lambda r: f"{r['pid']}_{r['clothes_id']}", axis=1)
    assert (manifest["outfit_key"] != manifest["source_path"].map(own)).all()

    # the same settings and the same batch composition regenerate every image bit for bit
    rerun = generate_images(index, masks, prompts, params, tmp_path / "rerun" / "tiny", tmp_path / "rerun" / "tiny.parquet",
                            device="cpu", dataset="tiny")
    for first, second in zip(manifest["path"], rerun["path"]):
        assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(second)))

    # another batch composition is only close: batched CPU kernels are not batch-invariant, so a few
    # pixels may move by a level or two; the seed per (image, variant) keeps the image itself the same
    one = index[index["path"] == manifest["source_path"].iloc[3]]
    again = generate_images(one, masks, prompts, params.model_copy(update={"batch_size": 2}), tmp_path / "again" / "tiny",
                            tmp_path / "again" / "tiny.parquet", device="cpu", dataset="tiny")
    for _, row in again.iterrows():
        original = manifest[(manifest["source_path"] == row["source_path"]) & (manifest["variant"] == row["variant"])]
        alone = np.asarray(Image.open(row["path"])).astype(int)
        batched = np.asarray(Image.open(original["path"].iloc[0])).astype(int)
        difference = np.abs(alone - batched)
        assert difference.max() <= BATCH_TOLERANCE_LEVELS and (difference > 0).mean() <= BATCH_TOLERANCE_FRACTION

    # query variants through the same backend, another scheduler
    query = generate_query_variants(index, masks, prompts, params.model_copy(update={"scheduler": "dpm++", "query_variants": 2}),
                                    tmp_path / "qv" / "tiny", tmp_path / "qv" / "tiny.parquet", device="cpu", dataset="tiny")
    assert len(query) == 8 and set(query["status"]) == {"ok"}
    _outside_is_source(query, masks)


def test_unloadable_model_fails_before_any_image(sd_home, tiny, monkeypatch):
    use_offline_cache(monkeypatch, sd_home / "hub")
    tmp_path, index, masks, prompts = tiny
    params = GenerationParams(**{**DIFFUSERS, "model_id": "someone/missing-inpainting"})
    with pytest.raises(StepInputError, match="someone/missing-inpainting.*(download|save_pretrained)"):
        generate_images(index, masks, prompts, params, tmp_path / "gen" / "tiny", tmp_path / "gen" / "tiny.parquet",
                        device="cpu", dataset="tiny")
    assert not (tmp_path / "gen").exists()


class OutOfMemoryAbove:
    """Wraps a real pipeline; batches larger than ``limit`` raise the error CUDA raises when memory runs out."""

    def __init__(self, pipe, limit: int):
        self.pipe, self.limit, self.calls = pipe, limit, []
        self.scheduler = pipe.scheduler

    def set_progress_bar_config(self, **kwargs):
        self.pipe.set_progress_bar_config(**kwargs)

    def to(self, device):
        return self

    def __call__(self, **kwargs):
        self.calls.append(len(kwargs["prompt"]))
        if len(kwargs["prompt"]) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.pipe(**kwargs)


def test_out_of_memory_halves_the_batch(sd_home, monkeypatch, caplog):
    use_offline_cache(monkeypatch, sd_home / "hub")
    params = GenerationParams(**{**DIFFUSERS, "batch_size": 8})
    real = load_inpainter(params, "cpu")
    wrapped = OutOfMemoryAbove(real.pipe, limit=2)
    inpainter = DiffusersInpainter(params, "cpu", pipe=wrapped)
    image = Image.new("RGB", (32, 64), (90, 90, 90))
    mask = Image.new("L", (32, 64), 255)
    jobs = [InpaintJob(image=image, mask=mask, prompt="red coat", seed=i) for i in range(5)]
    with caplog.at_level("WARNING"):
        outputs = inpainter.inpaint(jobs)
    assert len(outputs) == 5 and all(o.size == (32, 64) for o in outputs)
    assert wrapped.calls == [5, 2, 2, 1]
    assert "out of memory" in caplog.text and "retrying with batch 2" in caplog.text
    # the size that fitted is kept (hub.run_in_batches returns it): the next call starts there
    assert inpainter.batch_size == 2 and len(inpainter.inpaint(jobs[:3])) == 3 and wrapped.calls[4:] == [2, 1]


def test_diffusers_fingerprint_names_the_snapshot_and_the_sampler(sd_home, monkeypatch):
    import hashlib

    from dlcr_assets.generation.resume import settings_fingerprint

    use_offline_cache(monkeypatch, sd_home / "hub")
    params = GenerationParams(**DIFFUSERS)
    inpainter = load_inpainter(params, "cpu")
    settings = inpainter.pixel_settings()
    # the revision is the hub snapshot the weights came from (install_in_hf_cache names it sha1(id))
    assert settings["revision"] == hashlib.sha1(SD15_INPAINTING_ID.encode()).hexdigest()
    assert (settings["steps"], settings["dtype"], inpainter.needs_label_map) == (2, "float32", False)
    base = settings_fingerprint(inpainter)
    for change in ({"steps": 3}, {"guidance": 1.0}, {"scheduler": "ddim"}, {"width": 40}):
        other = DiffusersInpainter(params.model_copy(update=change), "cpu", pipe=inpainter.pipe)
        assert settings_fingerprint(other) != base, change
    assert settings_fingerprint(DiffusersInpainter(params, "cpu", pipe=inpainter.pipe)) == base


def test_recolor_backend_through_the_engine(tiny):
    tmp_path, index, masks, prompts = tiny
    params = GenerationParams(backend="recolor", variants_per_image=2)
    manifest = generate_images(index, masks, prompts, params, tmp_path / "gen" / "tiny", tmp_path / "gen" / "tiny.parquet",
                               dataset="tiny")
    assert len(manifest) == 16 and set(manifest["status"]) == {"ok"} and set(manifest["backend"]) == {"recolor"}
    _outside_is_source(manifest, masks)


def test_cli_clothing_masks_generated_images_query_variants(sd_home, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from dlcr_assets.cli import app
    from dlcr_reid.io import save_table

    use_offline_cache(monkeypatch, sd_home / "hub")
    index, prompts = make_tiny_dataset(tmp_path / "raw", train_ids=2)
    data = tmp_path / "data"
    save_table(index, data / "dataset_index" / "tiny.parquet")
    save_table(prompts, data / "clothing_prompts" / "tiny.parquet")
    (tmp_path / "params.yaml").write_text(
        f"data_dir: {data}\ngeneration:\n  backend: diffusers\n  steps: 2\n  width: 32\n  height: 64\n"
        "  variants_per_image: 2\n  query_variants: 2\n"
    )
    runner = CliRunner()
    for command in (["clothing-masks"], ["generated-images", "--shard", "0/2"], ["generated-images", "--shard", "1/2"], ["query-variants"],
                    ["export-released", str(tmp_path / "released")]):
        result = runner.invoke(app, [*command, "--dataset", "tiny", "--params", str(tmp_path / "params.yaml"),
                                     "--device", "cpu"])
        assert result.exit_code == 0, (command, result.output, result.exception)
    import pandas as pd

    manifest = pd.read_parquet(data / "generated_images" / "tiny.parquet")
    assert len(manifest) == 16 and set(manifest["status"]) == {"ok"}
    assert len(pd.read_parquet(data / "query_variants" / "tiny.parquet")) == 8
    assert len(list((tmp_path / "released").rglob("*.png"))) == 8
    assert "12 masks" in runner.invoke(app, ["clothing-masks", "--dataset", "tiny", "--params",
                                             str(tmp_path / "params.yaml")]).output
