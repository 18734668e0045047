"""The fast generation profile on the tiny SD inpainting pipeline (CPU): its settings generate valid
images, a switch enters the fingerprint only when on and able to move a pixel (SDPA: no;
channels_last, compile, DeepCache: yes), torch.compile wraps the UNet, and ``batch_size: auto``
follows free GPU memory."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dlcr_assets.generation import generate_images
from dlcr_assets.generation.resume import settings_fingerprint
from dlcr_assets.inpainting import load_inpainter
from dlcr_assets.inpainting.diffusers_backend import DiffusersInpainter
from dlcr_assets.inpainting.speed import MAX_BATCH, auto_batch_size
from dlcr_assets.params import load_params
from dlcr_assets.params.generation import CPU_BATCH, GenerationParams
from hf_cache import use_offline_cache
from test_generation_diffusers import (  # noqa: F401 (fixtures)
    BATCH_TOLERANCE_FRACTION, BATCH_TOLERANCE_LEVELS, DIFFUSERS, _outside_is_source, sd_home, tiny)
from test_params_profiles import SHIPPED

# the tiny pipeline's size; everything else is the fast profile's
TINY = ["generation.width=32", "generation.height=64", "generation.variants_per_image=2"]


def _fast(*overrides: str) -> GenerationParams:
    return load_params(SHIPPED, ["profile=fast", *TINY, *overrides]).generation


def _pixels(manifest) -> list[np.ndarray]:
    return [np.asarray(Image.open(path)) for path in manifest["path"]]


def _generate(tmp_path, tiny, params, name):
    _, index, masks, prompts = tiny
    return generate_images(index, masks, prompts, params, tmp_path / name / "tiny", tmp_path / name / "tiny.parquet",
                           device="cpu", dataset="tiny")


def test_fast_profile_generates_valid_images(sd_home, tiny, monkeypatch):
    use_offline_cache(monkeypatch, sd_home / "hub")
    tmp_path, _, masks, _ = tiny
    params = _fast()
    assert (params.scheduler, params.steps, params.dtype, params.batch_size) == ("dpm++", 20, "auto", "auto")
    inpainter = load_inpainter(params, "cpu")
    pipe = inpainter.pipe
    # what the profile asks for is what the pipeline runs
    assert type(pipe.scheduler).__name__ == "DPMSolverMultistepScheduler" and pipe.scheduler.config.solver_order == 2
    assert (inpainter.dtype, inpainter.batch_size) == ("float32", CPU_BATCH)  # auto on CPU
    for model, conv in ((pipe.unet, pipe.unet.conv_in), (pipe.vae, pipe.vae.decoder.conv_in)):
        assert {type(p).__name__ for p in model.attn_processors.values()} == {"AttnProcessor2_0"}
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    manifest = _generate(tmp_path, tiny, params, "fast")
    assert len(manifest) == 16 and set(manifest["status"]) == {"ok"}
    _outside_is_source(manifest, masks)
    # auto dtype on CPU is fp32: the same fingerprint as writing fp32
    assert settings_fingerprint(inpainter) == settings_fingerprint(
        DiffusersInpainter(params.model_copy(update={"dtype": "fp32"}), "cpu", pipe=inpainter.pipe))


def test_sdpa_keeps_todays_images_and_channels_last_moves_a_level(sd_home, tiny, monkeypatch):
    """attention sdpa is the processor these diffusers pick anyway: today's images and fingerprints.
    channels_last runs other convolution kernels: a level here and there, so on it is fingerprinted."""
    use_offline_cache(monkeypatch, sd_home / "hub")
    tmp_path, _, masks, _ = tiny
    today = GenerationParams(**DIFFUSERS)
    assert {type(p).__name__ for p in load_inpainter(today, "cpu").pipe.unet.attn_processors.values()} == {
        "AttnProcessor2_0"}
    before = _generate(tmp_path, tiny, today, "today")
    sdpa = _generate(tmp_path, tiny, today.model_copy(update={"attention": "sdpa"}), "sdpa")
    assert all(np.array_equal(a, b) for a, b in zip(_pixels(before), _pixels(sdpa)))
    assert before["fingerprint"].tolist() == sdpa["fingerprint"].tolist()
    nhwc = _generate(tmp_path, tiny, today.model_copy(update={"channels_last": True}), "nhwc")
    assert (before["fingerprint"] != nhwc["fingerprint"]).all() and set(nhwc["status"]) == {"ok"}
    _outside_is_source(nhwc, masks)
    difference = np.abs(np.stack(_pixels(before)).astype(int) - np.stack(_pixels(nhwc)))
    assert difference.max() <= BATCH_TOLERANCE_LEVELS and (difference > 0).mean() <= BATCH_TOLERANCE_FRACTION


def test_deepcache_changes_images_and_fingerprints(sd_home, tiny, monkeypatch):
    use_offline_cache(monkeypatch, sd_home / "hub")
    tmp_path, _, masks, _ = tiny
    plain = _fast("generation.steps=6", "generation.variants_per_image=1")
    cached = plain.model_copy(update={"deepcache": plain.deepcache.model_copy(update={"enabled": True})})
    inpainter = load_inpainter(cached, "cpu")
    assert inpainter.pixel_settings()["deepcache_interval"] == 3 and "deepcache_interval" not in \
        DiffusersInpainter(plain, "cpu", pipe=load_inpainter(plain, "cpu").pipe).pixel_settings()
    before, after = _generate(tmp_path, tiny, plain, "plain"), _generate(tmp_path, tiny, cached, "cached")
    assert set(after["status"]) == {"ok"} and (before["fingerprint"] != after["fingerprint"]).all()
    _outside_is_source(after, masks)
    # the reused deep features make other images (steps 2, 3, 5, 6 skip the deep blocks)
    assert any(not np.array_equal(a, b) for a, b in zip(_pixels(before), _pixels(after)))


def test_compile_switch_wraps_the_unet(sd_home, monkeypatch):
    """torch.compile of the tiny UNet takes ~2 min on this CPU: the test checks the switch resolves
    and wraps the UNet's forward (the compile itself runs on the first batch), not a generation."""
    use_offline_cache(monkeypatch, sd_home / "hub")
    params = _fast("generation.compile=true")
    assert params.compile and not params.deepcache.enabled
    plain = load_inpainter(_fast(), "cpu")
    compiled = load_inpainter(params, "cpu")
    assert not hasattr(plain.pipe.unet.forward, "_torchdynamo_orig_callable")
    assert compiled.pipe.unet.forward._torchdynamo_orig_callable.__func__ is type(compiled.pipe.unet).forward
    # fused kernels may round differently: on, the switch is in the fingerprint; off, nothing is
    assert compiled.pixel_settings() == {**plain.pixel_settings(), "compile": True}


@pytest.mark.parametrize(("free_gib", "expected"), [(100.0, MAX_BATCH), (4.0, 8), (0.1, 1)])
def test_auto_batch_size_follows_free_memory(monkeypatch, free_gib, expected):
    # the rule: 80% of free memory over 1024 bytes per pixel per dtype byte (0.375 GiB per 256x768 bf16 image)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (int(free_gib * 2**30), 141 * 2**30))
    assert auto_batch_size(256, 768, torch.bfloat16, "cuda:0") == expected
    assert auto_batch_size(256, 768, torch.bfloat16, "cpu") == CPU_BATCH
