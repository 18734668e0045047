"""Discriminator guidance with the tiny SD inpainting pipeline: training, save/load, guided sampling, realism.

The generated half of the data comes from the tiny random pipeline, so inside the clothes mask it
looks like noise: a discriminator that learns anything separates it from the real images.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dlcr_assets.discriminator import (RealismScorer, enable_guidance, guidance_fingerprint, guided_base_seed,
                                       load_discriminator, train_discriminator)
from dlcr_assets.discriminator.latents import encode_images, load_pipeline
from dlcr_assets.errors import StepInputError
from dlcr_assets.generation import generate_images
from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.params.discriminator import DiscriminatorGuidanceParams, DiscriminatorParams
from dlcr_assets.params.generation import GenerationParams
from dlcr_assets.params.masks import MasksParams
from tiny_vision_models import build_tiny_sd_inpainting, make_tiny_dataset

SIZE = dict(width=32, height=64)
PARAMS = DiscriminatorParams(**SIZE, channels=[32, 64], epochs=40, batch_size=16, eval_draws=8)


def _calibrate_vae(model, index) -> None:
    """Give the tiny random VAE a scaling_factor that makes its latents unit-variance, as SD's is.

    Uncalibrated, its latents have std ~0.04, below the noise of the very first timestep, so no
    discriminator could see anything at any t."""
    import json

    pipe = load_pipeline(str(model), "cpu")
    real = [Image.open(p).convert("RGB") for p in index["path"][index["split"] == "train"]]
    std = float(encode_images(pipe, real, SIZE["height"], SIZE["width"]).std())
    config_path = model / "vae" / "config.json"
    config = json.loads(config_path.read_text())
    config["scaling_factor"] = config["scaling_factor"] / std
    config_path.write_text(json.dumps(config))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    # one thread: on a shared 2-core machine two threads spin against each other (20x slower here)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("disc")
    model = build_tiny_sd_inpainting(root / "model")
    index, prompts = make_tiny_dataset(root / "raw", train_ids=4)
    _calibrate_vae(model, index)
    masks = make_clothing_masks(index, MasksParams(), root / "masks" / "tiny")
    generation = GenerationParams(backend="diffusers", model_id=str(model), steps=2, **SIZE, variants_per_image=2)
    manifest = generate_images(index, masks, prompts, generation, root / "gen" / "tiny", root / "gen" / "tiny.parquet",
                               device="cpu", dataset="tiny")
    pipe = load_pipeline(str(model), "cpu")
    result = train_discriminator(index, manifest, pipe, PARAMS, root / "discriminator", "cpu", masks=masks)
    yield root, index, masks, manifest, pipe, result
    torch.set_num_threads(threads)


def test_loss_falls_and_heldout_accuracy_beats_chance(trained):
    root, index, masks, manifest, pipe, result = trained
    losses = [row["loss"] for row in result.history]
    print("losses", [round(v, 3) for v in losses], "accuracy", [round(r["heldout_accuracy"], 3) for r in result.history])
    assert len(losses) == PARAMS.epochs
    assert np.mean(losses[-5:]) < 0.8 * losses[0]
    # held out by identity: one of the four people (its 8 generations and their sources) never trained on
    assert result.heldout_pairs == 8 and result.train_pairs == 24
    assert result.heldout_accuracy > 0.6


def test_save_load_round_trip(trained, tmp_path):
    root, index, masks, manifest, pipe, result = trained
    loaded = load_discriminator(result.path)
    assert loaded.config.metrics["heldout_accuracy"] == pytest.approx(result.heldout_accuracy)
    x, mask = torch.randn(3, 4, 8, 4), torch.ones(3, 1, 8, 4)
    again = load_discriminator(result.path)
    assert torch.equal(loaded(x, torch.tensor([5, 500, 900]), mask), again(x, torch.tensor([5, 500, 900]), mask))
    with pytest.raises(StepInputError, match="model.safetensors is missing"):
        (tmp_path / "config.json").write_text("{}")
        load_discriminator(tmp_path)


def _inputs(index, masks, count: int):
    rows = index[index["split"] == "train"].head(count)
    mask_of = masks.set_index("path")["mask_path"]
    images = [Image.open(p).convert("RGB") for p in rows["path"]]
    return images, [Image.open(mask_of[p]) for p in rows["path"]]


def _sample(pipe, images, masks, seeds, steps=4) -> np.ndarray:
    out = pipe(prompt=["red coat"] * len(images), image=images, mask_image=masks, **SIZE, num_inference_steps=steps,
               guidance_scale=7.5, strength=1.0, output_type="np",
               generator=[torch.Generator().manual_seed(s) for s in seeds])
    return out.images


def test_guidance_changes_outputs_only_when_on(trained):
    root, index, masks, manifest, pipe, result = trained
    images, mask_images = _inputs(index, masks, 3)
    seeds = [11, 12, 13]
    plain = _sample(pipe, images, mask_images, seeds)
    assert enable_guidance(pipe, DiscriminatorGuidanceParams()) is None  # off: nothing loaded, nothing patched
    assert "forward" not in pipe.unet.__dict__
    assert np.array_equal(_sample(pipe, images, mask_images, seeds), plain)
    patch = enable_guidance(pipe, DiscriminatorGuidanceParams(enabled=True, path=str(result.path), weight=20.0,
                                                              threshold=0))
    try:
        guided = _sample(pipe, images, mask_images, seeds)
        # threshold 0: every UNet call is guided (PNDM makes one more call than steps; CFG is one batched call)
        assert patch.calls == len(pipe.scheduler.timesteps) > 0
    finally:
        patch.remove()
    assert np.abs(guided - plain).max() > 0.01
    assert np.array_equal(_sample(pipe, images, mask_images, seeds), plain)


def test_correction_is_the_same_for_both_cfg_halves(trained):
    root, index, masks, manifest, pipe, result = trained
    unet = pipe.unet
    sample = torch.randn(2, 9, 8, 4).repeat(2, 1, 1, 1)  # [uncond; cond] copies of the same latents
    sample[:, 4] = 1.0
    text = torch.randn(4, 32, 32)
    plain = unet(sample, 500, encoder_hidden_states=text, return_dict=False)[0]
    patch = enable_guidance(pipe, DiscriminatorGuidanceParams(enabled=True, path=str(result.path), threshold=200))
    try:
        guided = unet(sample, 500, encoder_hidden_states=text, return_dict=False)[0]
        below = unet(sample, 100, encoder_hidden_states=text, return_dict=False)[0]
    finally:
        patch.remove()
    correction = guided - plain
    assert correction.abs().max() > 0
    assert torch.allclose(correction[:2], correction[2:])  # so CFG's combination keeps it exactly once
    assert torch.equal(below, unet(sample, 100, encoder_hidden_states=text, return_dict=False)[0])  # t <= threshold


def test_discriminator_scores_guided_outputs_higher(trained):
    root, index, masks, manifest, pipe, result = trained
    discriminator = load_discriminator(result.path)
    scorer = RealismScorer(discriminator, pipe)
    images, mask_images = _inputs(index, masks, 6)
    seeds = list(range(100, 106))
    plain = _sample(pipe, images, mask_images, seeds, steps=10)
    # the SPEC's threshold (t > 200); measured here: mean P(real) 0.09 unguided, 0.28 guided, 0.94 real
    patch = enable_guidance(pipe, DiscriminatorGuidanceParams(enabled=True, path=str(result.path), weight=20.0,
                                                              threshold=200), discriminator=load_discriminator(result.path))
    try:
        guided = _sample(pipe, images, mask_images, seeds, steps=10)
    finally:
        patch.remove()

    def pasted(outputs):  # what the engine writes: the generation inside the mask, the source outside
        pil = []
        for out, image, mask in zip(outputs, images, mask_images):
            generated = Image.fromarray((out * 255).round().astype(np.uint8)).resize(image.size, Image.BICUBIC)
            pil.append(Image.composite(generated, image, mask.convert("L")))
        return pil

    plain_scores, guided_scores = scorer(pasted(plain), mask_images), scorer(pasted(guided), mask_images)
    print("plain", plain_scores.round(3), "guided", guided_scores.round(3))
    assert guided_scores.mean() > plain_scores.mean() + 0.1
    real_scores = scorer(images, mask_images)
    assert real_scores.mean() > plain_scores.mean()


def test_guided_pass_has_its_own_seeds_and_fingerprint(trained):
    root, index, masks, manifest, pipe, result = trained
    off = DiscriminatorGuidanceParams()
    assert guidance_fingerprint(off) == {} and guided_base_seed(7, off) == 7
    on = DiscriminatorGuidanceParams(enabled=True, path=str(result.path))
    fingerprint = guidance_fingerprint(on)["discriminator_guidance"]
    assert len(fingerprint["discriminator_sha256"]) == 64 and fingerprint["threshold"] == 200.0
    assert guided_base_seed(7, on) != 7
    assert guided_base_seed(7, on) != guided_base_seed(7, on.model_copy(update={"weight": 2.0}))
    with pytest.raises(ValueError, match="discriminator_guidance.path"):
        guidance_fingerprint(DiscriminatorGuidanceParams(enabled=True))


def test_training_curves_and_accuracy_go_to_mlflow(trained, tmp_path):
    from mlflow.tracking import MlflowClient

    from dlcr_reid.params import TrackingParams

    root, index, masks, manifest, pipe, result = trained
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    params = PARAMS.model_copy(update={"epochs": 3})
    tracked = train_discriminator(index, manifest, pipe, params, tmp_path / "d", "cpu", masks=masks,
                                  tracking=TrackingParams(uri=uri, experiment="disc"), run_name="discriminator-tiny")
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(tracked.run_id)
    assert run.info.status == "FINISHED" and run.data.params["discriminator.lr"] == "0.0003"
    history = client.get_metric_history(tracked.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2]
    assert run.data.metrics["heldout_accuracy"] == pytest.approx(tracked.heldout_accuracy)
    assert [a.path for a in client.list_artifacts(tracked.run_id, "discriminator")] == ["discriminator/config.json"]


def test_pairs_check_their_inputs_and_find_the_mask_without_a_table(trained):
    from dlcr_assets.discriminator.training import _difference_mask, training_pairs

    root, index, masks, manifest, pipe, result = trained
    with pytest.raises(StepInputError, match="masks table has no mask for"):
        training_pairs(index, manifest, masks.iloc[1:], "identity")
    with pytest.raises(StepInputError, match="not in the index"):
        training_pairs(index.iloc[1:], manifest, masks, "identity")
    row = manifest.iloc[0]
    found = np.asarray(_difference_mask(Image.open(row["source_path"]), Image.open(row["path"]))) > 127
    clothes = np.asarray(Image.open(masks.set_index("path").at[row["source_path"], "mask_path"])) > 127
    assert not (found & ~clothes).any() and found.sum() > 0.9 * clothes.sum()  # the engine pastes inside the mask only


def test_the_quality_step_takes_the_discriminator_as_its_realism_score(trained):
    """The discriminator's P(real) reaches the quality step through its paths -> scores interface."""
    from dlcr_assets.quality.scorers import ManifestRealism

    root, index, masks, manifest, pipe, result = trained
    ok = manifest[manifest["status"] == "ok"]
    realism = ManifestRealism(RealismScorer(load_discriminator(result.path), pipe), ok, masks, batch_size=3)
    scores = realism(ok["path"].tolist())
    assert scores.shape == (len(ok),) and ((scores >= 0) & (scores <= 1)).all()
    # the same batch scored directly, with its sources' masks, gives the same numbers (the scorer's noise
    # is seeded per call, so the comparison keeps the batch)
    direct = RealismScorer(load_discriminator(result.path), pipe)
    mask_of = dict(zip(masks["path"], masks["mask_path"]))
    first = ok.iloc[:3]
    images = [Image.open(p).convert("RGB") for p in first["path"]]
    mask_images = [Image.open(mask_of[s]).convert("L") for s in first["source_path"]]
    assert np.allclose(direct(images, mask_images), scores[:3])
    with pytest.raises(StepInputError, match="no clothes mask"):
        ManifestRealism(direct, ok, masks.iloc[:0])(ok["path"].tolist()[:1])
