"""The top-level profile, the layers of params (default < profile < params.yaml < override) and `dlcr params`."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dlcr_assets.cli import app
from dlcr_assets.params import ParamsError, default_params_path, load_params, resolve_params

SHIPPED = Path(__file__).resolve().parents[1] / "params.yaml"

# What the code before the top-level profile (commit 9926c9c) resolved for the shipped params.yaml,
# dumped field by field; `profile: demo` must give exactly these values (so `make demo` is unchanged).
# The removed `generation.profile` / `training.profile` keys are left out.
DEMO_BEFORE = {
    "descriptions": {"backend": "parsing", "model_id": "llava-hf/llava-1.5-7b-hf",
        "question": "What clothes is the person wearing?", "temperature": 0.2, "max_new_tokens": 1024,
        "batch_size": 8, "dtype": "auto", "seed": 0, "parsing_root": None, "min_garment_pixels": 20},
    "prompts": {"backend": "vocabulary", "model_id": "meta-llama/Llama-2-7b-chat-hf", "temperature": 0.6,
        "top_p": 0.9, "max_new_tokens": 256, "max_words": 200, "retries": 2, "batch_size": 8,
        "dtype": "auto", "seed": 0, "novel_factor": 9, "novel_outfits": None,
        "distinct_adjacent_colours": True, "pattern_probability": 0.25},
    "masks": {"backend": "parsing-maps", "model_id": "mattmdjaga/segformer_b2_clothes",
        "label_scheme": "lip", "parsing_root": None, "dilation": 0, "min_coverage": 0.01,
        "max_coverage": 0.9, "batch_size": 8, "splits": ["train", "query", "query_same", "query_diff"]},
    "generation": {"backend": "recolor", "model_id": "stable-diffusion-v1-5/stable-diffusion-inpainting",
        "dtype": "fp32", "scheduler": "default", "steps": 10, "guidance": 7.5, "strength": 1.0, "width": 64,
        "height": 128, "batch_size": 8, "variants_per_image": 4, "query_variants": 4,
        "pool": "dataset+novel", "seed": 0, "prefetch": 2, "num_workers": 2, "shards": 1},
    "training": {"backbone": "resnet18", "weights": "none", "height": 96, "width": 48, "ids_per_batch": 8,
        "images_per_id": 4, "epochs": 16, "lr": 0.001, "weight_decay": 0.0005, "milestones": [12],
        "gamma": 0.1, "cal_start_epoch": 5, "id_loss_weight": 1.0, "triplet_loss_weight": 0.0,
        "cal_loss_weight": 1.0, "clothes_loss_weight": 1.0, "label_smoothing": 0.1, "random_erasing": 0.0,
        "cal_scale": 16.0, "cal_epsilon": 0.1, "triplet_margin": 0.3, "clothes_lr": None,
        "progressive": True, "progressive_schedule": [[0, 0.25], [6, 0.5], [11, 0.75], [16, 1.0]],
        "progressive_reference_epochs": 60, "eval_every": 4, "time_to_top1": [10.0, 20.0, 30.0],
        "num_workers": 0, "seed": 0, "amp": True, "channels_last": True, "deterministic": False,
        "max_steps_per_epoch": None, "keep_checkpoints": 2},
    "evaluation": {"batch_size": 64, "height": None, "width": None, "flip": True, "num_workers": 0,
        "distance_chunk_rows": 4096, "ranking_chunk_mb": 16, "ranking_threads": None, "ranks": [1, 5, 10],
        "cmc_max_rank": 50, "refinement": {"enabled": True, "views": 4, "top_k": 5},
        "video": {"clip_len": 8, "stride": 4}},
}


def _shipped_with(tmp_path: Path, profile: str) -> Path:
    """The shipped params.yaml with its profile line changed."""
    text = SHIPPED.read_text()
    assert text.count("\nprofile: demo\n") == 1
    path = tmp_path / "params.yaml"
    path.write_text(text.replace("\nprofile: demo\n", f"\nprofile: {profile}\n"))
    return path


def test_shipped_file_holds_no_profile_key():
    shipped = yaml.safe_load(SHIPPED.read_text())
    _, origins = resolve_params(SHIPPED)
    profile_set = {key for key, origin in origins.items() if origin.startswith("profile:")}
    written = {key for key, origin in origins.items() if origin == "params.yaml"}
    assert shipped["profile"] == "demo" and profile_set and not profile_set & written
    assert set(shipped) >= {"datasets", "profile", "tracking", "data_dir", "synthetic", "orchestration"}


def test_demo_profile_is_todays_demo_field_by_field():
    resolved, _ = resolve_params(SHIPPED)
    for section, fields in DEMO_BEFORE.items():
        for key, value in fields.items():
            assert resolved[section][key] == value, f"{section}.{key}"
    params = load_params(SHIPPED)
    assert params.profile == "demo" and params.training.profile == "demo"


def test_paper_profile_on_the_shipped_file_is_the_spec(tmp_path):
    resolved, origins = resolve_params(_shipped_with(tmp_path, "paper"))
    # SPEC §1.4
    assert resolved["generation"] == {**resolved["generation"], **{
        "backend": "diffusers", "model_id": "stable-diffusion-v1-5/stable-diffusion-inpainting", "dtype": "fp16",
        "width": 256, "height": 768, "steps": 50, "guidance": 7.5, "strength": 1.0, "scheduler": "default",
        "variants_per_image": 10, "pool": "dataset", "query_variants": 4}}
    # SPEC §1.6 (random crop and flip are not options: always on)
    assert resolved["training"] == {**resolved["training"], **{
        "backbone": "resnet50", "weights": "imagenet", "lr": 3.5e-4, "weight_decay": 5e-4, "epochs": 60,
        "milestones": [20, 40], "gamma": 0.1, "height": 384, "width": 192, "random_erasing": 0.5,
        "ids_per_batch": 4, "images_per_id": 8, "cal_start_epoch": 25, "label_smoothing": 0.1,
        "triplet_loss_weight": 0.0, "triplet_margin": 0.3, "cal_scale": 16.0, "cal_epsilon": 0.1,
        "progressive": True, "progressive_reference_epochs": 60,
        "progressive_schedule": [[0, 0.25], [6, 0.5], [11, 0.75], [16, 1.0]]}}
    params = load_params(_shipped_with(tmp_path, "paper"))
    assert params.training.batch_images == 32 and params.training.profile == "paper"
    # SPEC §1.1-1.3 and §1.7: the real models, no novel outfits
    assert resolved["descriptions"] == {**resolved["descriptions"], **{
        "backend": "vlm", "model_id": "llava-hf/llava-1.5-7b-hf", "temperature": 0.2, "max_new_tokens": 1024,
        "question": "What clothes is the person wearing?"}}
    assert resolved["prompts"] == {**resolved["prompts"], **{
        "backend": "llm", "model_id": "meta-llama/Llama-2-7b-chat-hf", "temperature": 0.6, "top_p": 0.9,
        "max_words": 200, "novel_factor": 0, "novel_outfits": None}}
    assert (resolved["masks"]["backend"], resolved["masks"]["dilation"]) == ("segformer", 0)
    assert resolved["evaluation"]["refinement"] == {"enabled": True, "views": 4, "top_k": 5}
    assert resolved["evaluation"]["flip"] is True
    assert origins["generation.steps"] == "profile:paper" and origins["training.lr"] == "profile:paper"


def test_explicit_keys_win_over_the_profile_and_overrides_over_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("profile: paper\ngeneration: {steps: 20, scheduler: dpm++}\ntraining: {epochs: 30}\n"
                    "evaluation: {refinement: {views: 2}}\n")
    params = load_params(path, ["training.epochs=12", "training.lr=1e-3"])
    assert (params.generation.steps, params.generation.scheduler, params.generation.width) == (20, "dpm++", 256)
    assert (params.training.epochs, params.training.lr, params.training.backbone) == (12, 1e-3, "resnet50")
    assert (params.evaluation.refinement.views, params.evaluation.refinement.top_k) == (2, 5)
    assert load_params(path, ["profile=demo"]).generation.backend == "recolor"


def test_sources_name_each_origin(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("profile: paper\ngeneration: {steps: 20}\nevaluation: {refinement: {views: 2}}\n")
    result = CliRunner().invoke(app, ["--set", "training.lr=0.01", "params", "--params", str(path), "--sources"])
    assert result.exit_code == 0, result.output
    origins = dict(line.split() for line in result.output.splitlines())
    assert origins["profile"] == "params.yaml"
    assert origins["generation.steps"] == "params.yaml"
    assert origins["generation.guidance"] == "profile:paper"
    assert origins["generation.prefetch"] == "default"  # no profile sets it
    assert origins["training.lr"] == "override"
    assert origins["evaluation.refinement.views"] == "params.yaml"
    assert origins["evaluation.refinement.top_k"] == "profile:paper"
    assert origins["descriptions.question"] == "default"
    assert set(origins.values()) == {"default", "profile:paper", "params.yaml", "override"}
    local = CliRunner().invoke(app, ["params", "--params", str(path), "--sources", "--set", "profile=demo"])
    assert dict(line.split() for line in local.output.splitlines())["generation.backend"] == "profile:demo"


def test_params_prints_yaml_that_reads_back_as_the_same_configuration(tmp_path):
    printed = CliRunner().invoke(app, ["params", "--params", str(_shipped_with(tmp_path, "paper"))])
    assert printed.exit_code == 0, printed.output
    dumped = yaml.safe_load(printed.output)
    assert dumped["profile"] == "paper" and dumped["generation"]["steps"] == 50
    again = tmp_path / "again.yaml"
    again.write_text(printed.output)
    assert resolve_params(again)[0] == dumped


def test_unknown_profile_names_the_allowed_ones(tmp_path):
    with pytest.raises(ParamsError, match=r"profile: unknown profile 'papr'; allowed: demo, fast, paper"):
        load_params(_shipped_with(tmp_path, "papr"))
    result = CliRunner().invoke(app, ["params", "--params", str(SHIPPED), "--set", "profile=quick"])
    assert result.exit_code != 0 and "allowed: demo, fast, paper" in str(result.exception)


# SPEC §3: what `profile: fast` changes in the paper profile; every other key is the paper's
FAST_CHANGES = {"scheduler": "dpm++", "steps": 20, "dtype": "auto", "batch_size": "auto", "attention": "sdpa",
                "channels_last": True}


def test_fast_profile_is_the_paper_with_fast_generation(tmp_path):
    printed = CliRunner().invoke(app, ["params", "--params", str(_shipped_with(tmp_path, "fast"))])
    assert printed.exit_code == 0, printed.output
    fast = yaml.safe_load(printed.output)
    paper, _ = resolve_params(_shipped_with(tmp_path, "paper"))
    assert fast["profile"] == "fast"
    assert fast["generation"] == {**paper["generation"], **FAST_CHANGES}
    # the switches that are off unless chosen, in paper and fast alike
    assert (fast["generation"]["compile"], fast["generation"]["deepcache"]["enabled"]) == (False, False)
    assert (paper["generation"]["attention"], paper["generation"]["channels_last"]) == ("default", False)
    for section in set(paper) - {"profile", "generation"}:
        assert fast[section] == paper[section], section
    assert load_params(_shipped_with(tmp_path, "fast")).training.profile == "fast"  # runs are tagged with it
    sources = CliRunner().invoke(app, ["params", "--params", str(_shipped_with(tmp_path, "fast")), "--sources"])
    origins = dict(line.split() for line in sources.output.splitlines())
    for key in FAST_CHANGES:
        assert origins[f"generation.{key}"] == "profile:fast", key
    assert origins["generation.deepcache.interval"] == "profile:fast" and origins["training.lr"] == "profile:fast"
    # explicit keys still win, and the literal values of before keep working
    params = load_params(_shipped_with(tmp_path, "fast"), ["generation.dtype=fp16", "generation.batch_size=4"])
    assert (params.generation.dtype, params.generation.batch_size, params.generation.steps) == ("fp16", 4, 20)


def test_fast_switches_name_their_keys(tmp_path):
    path = _shipped_with(tmp_path, "fast")
    with pytest.raises(ParamsError, match="compile and deepcache.enabled cannot both be on"):
        load_params(path, ["generation.compile=true", "generation.deepcache.enabled=true"])
    with pytest.raises(ParamsError, match="generation.batch_size"):
        load_params(path, ["generation.batch_size=most"])
    with pytest.raises(ParamsError, match="generation.dtype"):
        load_params(path, ["generation.dtype=int8"])


@pytest.mark.parametrize("section", ["generation", "training"])
def test_a_section_profile_says_where_it_moved(tmp_path, section):
    path = tmp_path / "params.yaml"
    path.write_text(f"{section}:\n  profile: paper\n")
    with pytest.raises(ParamsError, match=rf"params.yaml: {section}.profile has moved: set the top-level `profile`"):
        load_params(path)


def test_bad_overrides_are_named():
    with pytest.raises(ParamsError, match="expected KEY=VALUE"):
        load_params(SHIPPED, ["training.lr"])
    with pytest.raises(ParamsError, match=r"training.lr: Input should be greater than 0"):
        load_params(SHIPPED, ["training.lr=-1"])


def test_the_params_path_is_chosen_at_call_time(tmp_path, monkeypatch):
    other = tmp_path / "elsewhere.yaml"
    other.write_text("profile: paper\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DLCR_PARAMS", raising=False)
    assert default_params_path() == Path("params.yaml")
    with pytest.raises(ParamsError, match="params.yaml: params file not found"):
        load_params()
    monkeypatch.setenv("DLCR_PARAMS", str(other))
    assert load_params().profile == "paper"
    result = CliRunner().invoke(app, ["params"])
    assert result.exit_code == 0 and yaml.safe_load(result.output)["generation"]["backend"] == "diffusers"


def test_discriminator_guidance_is_off_in_both_profiles_and_listed_by_params(tmp_path):
    """SPEC §1.5: off, as in the paper's main results; the discriminator step trains at the generation size."""
    for profile in ("demo", "paper"):
        params = load_params(_shipped_with(tmp_path, profile))
        guidance = params.generation.discriminator_guidance
        assert (guidance.enabled, guidance.weight, guidance.threshold, guidance.path) == (False, 1.0, 200.0, None)
        assert (params.discriminator.width, params.discriminator.height) == (params.generation.width,
                                                                             params.generation.height)
    assert load_params(_shipped_with(tmp_path, "paper")).discriminator.lr == 3e-4
    result = CliRunner().invoke(app, ["params", "--params", str(_shipped_with(tmp_path, "paper")), "--sources"])
    origins = dict(line.split() for line in result.output.splitlines())
    assert origins["generation.discriminator_guidance.enabled"] == "profile:paper"
    assert origins["discriminator.height"] == "profile:paper"
    with pytest.raises(ParamsError, match="discriminator_guidance.enabled needs backend: diffusers"):
        load_params(SHIPPED, ["generation.discriminator_guidance.enabled=true"])  # demo: recolor has no diffusion
