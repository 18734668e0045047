"""Discriminator guidance wired into the pipeline (SPEC §1.5), with the tiny SD inpainting pipeline.

`dlcr discriminator` trains on the first pass and logs to MLflow; `dlcr guided-images` writes a
second expansion with its own seeds and fingerprints beside the first, which stays byte for byte
as it was; DLCR training reads the guided expansion when guidance is on; with guidance off the
first pass's settings fingerprint is the one the code had before guidance existed.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from dlcr_assets.cli import app
from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.params import load_params
from dlcr_assets.params.masks import MasksParams
from dlcr_assets.layout import DatasetPaths
from dlcr_reid.io import save_table
from tiny_vision_models import build_tiny_sd_inpainting, make_tiny_dataset

SIZE = dict(width=32, height=64)
ON = "generation.discriminator_guidance.enabled=true"


def _dlcr(params_path, *args, overrides=()):
    sets = [item for pair in overrides for item in ("--set", pair)]
    result = CliRunner().invoke(app, [*sets, *args, "--dataset", "tiny", "--device", "cpu", "--params", str(params_path)])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def _digests(manifest: pd.DataFrame) -> dict[str, str]:
    return {p: hashlib.sha256(open(p, "rb").read()).hexdigest() for p in manifest["path"]}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A data folder with index, masks and prompts, the first pass, and a discriminator trained by the CLI."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared 2-core machine: two threads spin against each other
    root = tmp_path_factory.mktemp("guided")
    model = build_tiny_sd_inpainting(root / "model")
    paths = DatasetPaths(root / "data", "tiny")
    index, prompts = make_tiny_dataset(root / "raw", train_ids=4)
    masks = make_clothing_masks(index, MasksParams(), paths.clothing_masks_dir)
    for table, path in ((index, paths.dataset_index), (masks, paths.clothing_masks), (prompts, paths.clothing_prompts)):
        save_table(table, path)
    params = {
        "data_dir": str(root / "data"),
        "generation": {"backend": "diffusers", "model_id": str(model), "steps": 2, **SIZE, "variants_per_image": 2,
                       "discriminator_guidance": {"weight": 20.0, "threshold": 0}},
        "discriminator": {**SIZE, "channels": [32, 64], "epochs": 3, "batch_size": 16, "eval_draws": 2},
        "training": dict(backbone="resnet18", height=32, width=16, ids_per_batch=2, images_per_id=2, epochs=1,
                         milestones=[1], max_steps_per_epoch=1, eval_every=0, min_steps=None),
        "tracking": {"uri": f"sqlite:///{root / 'mlflow.db'}", "experiment": "guidance"},
    }
    params_path = root / "params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    _dlcr(params_path, "generated-images")
    first = {"bytes": paths.generated_images.read_bytes(), "images": _digests(pd.read_parquet(paths.generated_images))}
    discriminator = _dlcr(params_path, "discriminator")
    yield {"root": root, "paths": paths, "params": params_path, "first": first, "discriminator": discriminator.output}
    torch.set_num_threads(threads)


def test_discriminator_command_writes_a_loadable_folder_and_logs_to_mlflow(project):
    from mlflow.tracking import MlflowClient

    from dlcr_assets.discriminator import load_discriminator

    paths = project["paths"]
    model = load_discriminator(paths.discriminator_dir)
    assert model.config.use_mask and model.config.num_train_timesteps == 1000
    assert "held-out accuracy" in project["discriminator"]
    client = MlflowClient(tracking_uri=f"sqlite:///{project['root'] / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("guidance").experiment_id],
                                "tags.mlflow.runName = 'discriminator-tiny'")
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [0, 1, 2]
    accuracy = json.loads((paths.discriminator_dir / "config.json").read_text())["metrics"]["heldout_accuracy"]
    assert run.data.metrics["heldout_accuracy"] == pytest.approx(accuracy)


def test_first_pass_ignores_guidance_and_keeps_its_fingerprints(project):
    """`dlcr generated-images` with guidance on is the first pass still: nothing stale, not a byte changed."""
    from dlcr_assets.generation.resume import settings_fingerprint
    from dlcr_assets.inpainting.diffusers_backend import DiffusersInpainter

    paths = project["paths"]
    result = _dlcr(project["params"], "generated-images", overrides=[ON])
    assert "0 generated" in result.output and "0 of them stale" in result.output
    assert paths.generated_images.read_bytes() == project["first"]["bytes"]
    assert _digests(pd.read_parquet(paths.generated_images)) == project["first"]["images"]
    # the settings fingerprint with guidance off, pinned to the value the code gave before guidance existed
    generation = load_params(project["params"]).generation
    inpainter = DiffusersInpainter(generation, "cpu")
    assert inpainter.guidance is None and "forward" not in inpainter.pipe.unet.__dict__
    inpainter.model_id, inpainter.revision = "tiny", "fixed"
    assert settings_fingerprint(inpainter) == "455b02198865a995"


def test_guided_pass_is_its_own_expansion_beside_the_first(project):
    paths = project["paths"]
    _dlcr(project["params"], "guided-images", overrides=[ON])
    first, guided = pd.read_parquet(paths.generated_images), pd.read_parquet(paths.guided_images)
    assert (guided["status"] == "ok").all() and len(guided) == len(first)
    assert all(p.startswith(str(paths.guided_images_dir.resolve())) or p.startswith(str(paths.guided_images_dir)) for p in guided["path"])
    pairs = first.merge(guided, on=["source_path", "variant"], suffixes=("", "_guided"))
    assert len(pairs) == len(first)
    assert (pairs["prompt"] == pairs["prompt_guided"]).all()  # same outfits, own seeds and fingerprints
    assert (pairs["seed"] != pairs["seed_guided"]).all()
    assert (pairs["fingerprint"] != pairs["fingerprint_guided"]).all()
    assert set(_digests(guided).values()).isdisjoint(project["first"]["images"].values())
    # the first pass is untouched
    assert paths.generated_images.read_bytes() == project["first"]["bytes"]
    assert _digests(first) == project["first"]["images"]
    # a rerun of the guided pass finds everything done
    assert "0 generated" in _dlcr(project["params"], "guided-images", overrides=[ON]).output


def test_guidance_changes_the_pixels_at_the_same_seeds(project):
    """The same plan with the UNet patch on and removed: only the patch makes the difference."""
    from dlcr_assets import steps
    from dlcr_assets.generation import generate_images, plan_generation
    from dlcr_assets.inpainting.diffusers_backend import DiffusersInpainter

    paths, root = project["paths"], project["root"]
    params = load_params(project["params"], [ON])
    generation = steps.guided(params, paths)
    assert generation.discriminator_guidance.path == str(paths.discriminator_dir)
    tables = [pd.read_parquet(p) for p in (paths.dataset_index, paths.clothing_masks, paths.clothing_prompts)]
    inpainter = DiffusersInpainter(generation, "cpu")
    outputs = {}
    for name in ("on", "off"):
        if name == "off":
            inpainter.guidance.remove()
        plan = plan_generation(*tables, generation, root / name, "tiny", (0, 1))
        outputs[name] = generate_images(*tables, generation, root / name, root / f"{name}.parquet", device="cpu",
                                        dataset="tiny", inpainter=inpainter, plan=plan)
        if name == "on":
            assert inpainter.guidance.calls > 0
    on, off = outputs["on"], outputs["off"]
    assert list(on["seed"]) == list(off["seed"])
    differ = [np.abs(np.asarray(Image.open(a), float) - np.asarray(Image.open(b), float)).max() > 0
              for a, b in zip(on["path"], off["path"])]
    assert all(differ)
    # the CLI's guided pass made the same images as the patched in-process run
    guided = pd.read_parquet(paths.guided_images).sort_values(["source_path", "variant"])
    on = on.sort_values(["source_path", "variant"])
    assert [open(p, "rb").read() for p in guided["path"]] == [open(p, "rb").read() for p in on["path"]]


def test_dlcr_training_reads_the_guided_expansion_when_guidance_is_on(project):
    from dlcr_assets import steps

    paths = project["paths"]
    if not paths.guided_images.is_file():
        _dlcr(project["params"], "guided-images", overrides=[ON])
    params = load_params(project["params"], [ON, "tracking.enabled=false"])
    run = steps.reid_checkpoint(params, "tiny", "dlcr", device="cpu")
    assert set(run.extra["manifest"]["path"]) == set(pd.read_parquet(paths.guided_images)["path"])
    assert paths.best_checkpoint("dlcr").is_file()


def test_when_guided_stages_cost_nothing_with_guidance_off(tmp_path):
    from dlcr_assets import steps
    from dlcr_assets.errors import StepInputError
    from dlcr_assets.params import parse_params

    params = parse_params({"data_dir": str(tmp_path)})  # no index, no first pass: nothing is read
    paths = steps.layout(params, "tiny")
    assert steps.discriminator(params, "tiny", when_guided=True).extra["skipped"]
    assert [p.name for p in paths.discriminator_dir.iterdir()] == ["skipped.json"]
    run = steps.guided_images(params, "tiny", when_guided=True)
    assert run.extra["skipped"] and pd.read_parquet(paths.guided_images).empty
    with pytest.raises(StepInputError, match="discriminator_guidance.enabled is false"):
        steps.guided_images(params, "tiny")


def test_dagster_assets_train_the_discriminator_and_write_the_guided_pass(project, tmp_path):
    """The Dagster assets call the same steps: a discriminator folder, then a guided shard beside the first pass."""
    from dagster import DagsterInstance, materialize

    from dagster_project.defs.data.partitions import DATASET_PARTITIONS_NAME
    from dagster_project.defs.generation.guidance import discriminator, guided_images
    from dagster_project.defs.generation.partitions import SHARD_PARTITIONS_NAME, dataset_shard_key
    from dagster_project.resources import BackendsResource, DeviceResource, MlflowResource, ParamsResource

    params_path = tmp_path / "params.yaml"
    params = yaml.safe_load(project["params"].read_text())
    params["data_dir"] = str(tmp_path / "data")
    params["generation"]["discriminator_guidance"]["enabled"] = True
    params_path.write_text(yaml.safe_dump(params))
    paths = DatasetPaths(tmp_path / "data", "tiny")
    for source, target in ((project["paths"].dataset_index, paths.dataset_index), (project["paths"].clothing_masks, paths.clothing_masks),
                           (project["paths"].clothing_prompts, paths.clothing_prompts), (project["paths"].generated_images, paths.generated_images)):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DATASET_PARTITIONS_NAME, ["tiny"])
    instance.add_dynamic_partitions(SHARD_PARTITIONS_NAME, ["0"])
    resources = {"params": ParamsResource(path=str(params_path)), "device": DeviceResource(device="cpu"),
                 "backends": BackendsResource(), "mlflow": MlflowResource()}
    trained = materialize([discriminator], partition_key="tiny", instance=instance, resources=resources)
    assert trained.success
    assert (paths.discriminator_dir / "config.json").is_file()
    guided = materialize([guided_images], partition_key=dataset_shard_key("tiny", 0), instance=instance,
                         resources=resources)
    assert guided.success
    manifest = pd.read_parquet(paths.guided_images)
    assert len(manifest) and set(manifest["status"]) == {"ok"}
    assert all(str(paths.guided_images_dir) in p for p in manifest["path"])
    first = pd.read_parquet(paths.generated_images)
    assert set(manifest["seed"]).isdisjoint(set(first["seed"]))
