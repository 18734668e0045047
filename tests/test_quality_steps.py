"""The generation_quality step wired into the pipeline (issue 8): command, step, asset, check, filter.

One tiny project (the orchestration tests' tiny params: six identities, one shard, a two-step
baseline) is built once through the steps. `dlcr generation-quality` and the step function write
the same table; a rerun scores only rewritten images; with ``quality.filter`` DLCR training and
refinement leave out an injected fault and MLflow records it; with it off training is byte for
byte what it is without any quality table; the Dagster asset shows counts and histograms and its
check, set to block, stops DLCR training.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from dlcr_assets import steps
from dlcr_assets.errors import StepInputError
from dlcr_assets.params import load_params
from dlcr_assets.quality.faults import make_fault
from dlcr_assets.quality.pixels import read_mask, read_rgb
from orchestration_helpers import VENV_BIN, server_env, tiny_params, write_params

DATASET = "synthetic"


def _with(params, **quality):
    return params.model_copy(update={"quality": params.quality.model_copy(update=quality)})


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Params (MLflow in a sqlite file), the synthetic dataset through every step up to the baseline."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the command's subprocess (OMP_NUM_THREADS=1): the same kernels, the same sums
    root = tmp_path_factory.mktemp("quality_steps")
    values = tiny_params(absolute_to=root, shards=1)
    values["tracking"]["uri"] = f"sqlite:///{root / 'mlflow.db'}"
    values["training"]["eval_every"] = 0
    params_path = write_params(root / "params.yaml", values)
    params = load_params(params_path)
    steps.synthetic_dataset(params)
    steps.dataset_index(params, DATASET)
    for step in (steps.clothing_descriptions, steps.clothing_prompts, steps.clothing_masks, steps.generated_images,
                 steps.query_variants):
        step(params, DATASET, device="cpu")
    steps.reid_checkpoint(params, DATASET, "baseline", "cpu")
    yield params_path, params
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def faults(project):
    """The tables scored once, then one training variant rewritten as its source (no clothes change) and
    one query variant given noise inside the mask: (generated fault, query fault, first table)."""
    _, params = project
    paths = steps.layout(params, DATASET)
    first = steps.generation_quality(params, DATASET, "cpu").result
    masks = pd.read_parquet(paths.clothing_masks).set_index("path")["mask_path"]
    chosen = []
    for manifest, kind in (("generated_images", "unchanged"), ("query_variants", "noise")):
        row = first[(first["manifest"] == manifest) & first["kept"]].iloc[0]
        image = make_fault(kind, read_rgb(row.path), read_rgb(row.source_path), read_mask(masks[row.source_path]),
                           None, np.random.default_rng(0))
        Image.fromarray(image).save(row.path, format="PNG")
        chosen.append(row.path)
    return chosen[0], chosen[1], first


def test_command_and_step_write_the_same_table_with_a_row_per_generated_image(project):
    params_path, params = project
    paths = steps.layout(params, DATASET)
    done = subprocess.run([str(VENV_BIN / "dlcr"), "generation-quality", "--dataset", DATASET, "--device", "cpu",
                           "--params", str(params_path)], env=server_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "kept" in done.stdout and "quality.filter is off" in done.stdout
    cli = pd.read_parquet(paths.generation_quality)
    histograms = paths.generation_quality_dir / "histograms"
    cli_pngs = {p.name: p.read_bytes() for p in sorted(histograms.glob("*.png"))}
    shutil.rmtree(paths.generation_quality_dir)
    paths.generation_quality.unlink()
    run = steps.generation_quality(params, DATASET, "cpu")
    pd.testing.assert_frame_equal(cli, pd.read_parquet(paths.generation_quality))
    assert {p.name: p.read_bytes() for p in sorted(histograms.glob("*.png"))} == cli_pngs
    assert {"identity_cosine.png", "clothes_distance.png", "leaked_pixels.png"} <= set(cli_pngs)

    ok = [table[table["status"] == "ok"]["path"] for table in (pd.read_parquet(paths.generated_images),
                                                                  pd.read_parquet(paths.query_variants))]
    assert sorted(cli["path"]) == sorted([*ok[0], *ok[1]]) and min(len(ok[0]), len(ok[1])) > 0
    assert set(cli["manifest"]) == {"generated_images", "query_variants"}
    for column in ("path", "source_path", "variant", "identity_cosine", "identity_nearest_ok", "clothes_distance",
                   "leaked_pixels", "kept", "reason"):
        assert column in cli.columns, column
    # query sources are no training identity: "nearest" does not apply to them
    assert cli.loc[cli["manifest"] == "query_variants", "identity_nearest_ok"].isna().all()
    assert run.extra["checkpoint"] == paths.best_checkpoint("baseline")
    assert [p.stem for p in (paths.generation_quality_dir / "features").glob("*.npz")] == \
        [cli["checkpoint_sha256"].iloc[0]]


def test_a_rerun_scores_only_rewritten_images_not_touched_ones(project, faults):
    _, params = project
    generated_fault, query_fault, first = faults
    rerun = steps.generation_quality(params, DATASET, "cpu").result
    assert rerun.attrs["run"]["features_extracted"] == 2 and rerun.attrs["run"]["pixels_computed"] == 2
    # touched, not rewritten (as a DVC checkout leaves files): the content digest is the key, nothing rescored
    stat = os.stat(first["path"].iloc[-1])
    os.utime(first["path"].iloc[-1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = steps.generation_quality(params, DATASET, "cpu").result
    assert again.attrs["run"]["features_extracted"] == 0 and again.attrs["run"]["pixels_computed"] == 0
    by_path = rerun.set_index("path")
    assert "unchanged" in by_path.at[generated_fault, "reason"].split(",")
    assert "noise" in by_path.at[query_fault, "reason"].split(",")
    assert len(rerun) == len(first)


def test_filter_on_leaves_the_faults_out_of_training_and_refinement_and_mlflow_records_it(project, faults):
    from mlflow.tracking import MlflowClient

    _, params = project
    generated_fault, query_fault, _ = faults
    quality = steps.generation_quality(params, DATASET, "cpu").result
    kept = quality[(quality["manifest"] == "generated_images") & quality["kept"]]
    # regenerated after scoring (same path, new pixels): its old scores must not let it in
    regenerated = kept["path"].iloc[-1]
    Image.fromarray(255 - read_rgb(regenerated)).save(regenerated, format="PNG")
    on = _with(params, filter=True)
    run = steps.reid_checkpoint(on, DATASET, "dlcr", "cpu")
    used, counts = run.extra["manifest"], run.extra["quality"]
    assert generated_fault not in set(used["path"]) and regenerated not in set(used["path"])
    assert sorted(used["path"]) == sorted(kept["path"].iloc[:-1]) and counts["kept"] == len(kept) - 1
    assert counts["unchanged"] >= 1 and counts["stale"] == 1 and counts["unscored"] == 1
    record = MlflowClient(params.tracking.uri).get_run(run.result.mlflow_run_id).data
    assert record.params["quality.filter"] == "true"
    assert record.metrics["quality.kept"] == len(kept) - 1 and record.metrics["quality.dropped_unchanged"] >= 1
    assert record.metrics["quality.dropped_stale"] == 1

    refined = steps.evaluation_reports(on, DATASET, "baseline", "cpu", refine=True)
    variants = refined.extra["variants"]
    assert refined.extra["refined"] and query_fault not in set(variants["path"]) and len(variants)
    plain = steps.evaluation_reports(params, DATASET, "baseline", "cpu", refine=True).extra["variants"]
    assert query_fault in set(plain["path"])


def test_filter_off_trains_byte_for_byte_as_without_any_quality_table(project, faults):
    _, params = project
    paths = steps.layout(params, DATASET)
    generated_fault = faults[0]
    best = paths.best_checkpoint("dlcr")
    with_table = steps.reid_checkpoint(params, DATASET, "dlcr", "cpu")
    weights = best.read_bytes()
    aside = paths.generation_quality.with_suffix(".aside")
    paths.generation_quality.rename(aside)  # as before the quality step existed: nothing to read
    try:
        without = steps.reid_checkpoint(params, DATASET, "dlcr", "cpu")
        assert best.read_bytes() == weights
    finally:
        aside.rename(paths.generation_quality)
    assert with_table.extra["quality"] is None and generated_fault in set(without.extra["manifest"]["path"])
    pd.testing.assert_frame_equal(with_table.extra["manifest"], without.extra["manifest"])


def test_asset_shows_counts_and_histograms_and_its_check_blocks_training(project, faults, tmp_path):
    from dagster import DagsterInstance

    params_path, _ = project
    # entered, so that definitions loading sees this instance's state storage (not one a test before left)
    with DagsterInstance.ephemeral() as instance:
        _materialize_and_check(instance, params_path, tmp_path)


def _materialize_and_check(instance, params_path, tmp_path):
    import yaml
    from dagster import AssetCheckSeverity, AssetKey, materialize

    from dagster_project.defs.data.partitions import DATASET_PARTITIONS_NAME
    from dagster_project.defs.generation.quality import generation_quality
    from dagster_project.defs.reid.assets import reid_checkpoint_dlcr
    from dagster_project.resources import DeviceResource, MlflowResource, ParamsResource

    instance.add_dynamic_partitions(DATASET_PARTITIONS_NAME, [DATASET])
    resources = {"params": ParamsResource(path=str(params_path)), "device": DeviceResource(device="cpu"),
                 "mlflow": MlflowResource()}
    result = materialize([generation_quality], partition_key=DATASET, instance=instance, resources=resources)
    assert result.success
    metadata = result.asset_materializations_for_node("generation_quality")[0].metadata
    assert metadata["dropped_unchanged"].value >= 1 and metadata["dropped_noise"].value >= 1
    assert metadata["kept"].value + metadata["dropped"].value == metadata["scored"].value > 0
    assert "data:image/png;base64," in metadata["histogram_identity_cosine"].value
    assert "| generated_images |" in metadata["reasons"].value
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.severity == AssetCheckSeverity.WARN  # two faults among many clean variants

    values = yaml.safe_load(params_path.read_text())
    values["quality"].update(min_kept_fraction=1.0, block_training_below=True)
    strict = write_params(tmp_path / "params.yaml", values)
    blocked = materialize([generation_quality, reid_checkpoint_dlcr], partition_key=DATASET, instance=instance,
                          resources={**resources, "params": ParamsResource(path=str(strict))}, raise_on_error=False)
    (check,) = blocked.get_asset_check_evaluations()
    assert not check.passed and check.severity == AssetCheckSeverity.ERROR
    assert check.metadata["kept_fraction"].value < 1.0
    materialized = {event.asset_key for event in blocked.get_asset_materialization_events()}
    assert AssetKey("generation_quality") in materialized and AssetKey("reid_checkpoint_dlcr") not in materialized


def test_reference_checkpoint_by_path_and_a_missing_one(project, tmp_path):
    from typer.testing import CliRunner

    from dlcr_assets.cli import app

    params_path, params = project
    paths = steps.layout(params, DATASET)
    copy = tmp_path / "reference"
    shutil.copytree(paths.reid_checkpoint("baseline"), copy)
    steps.generation_quality(params, DATASET, "cpu")  # the cache up to date with what earlier tests rewrote
    by_path = steps.generation_quality(_with(params, checkpoint=copy / "best.safetensors"), DATASET, "cpu")
    assert by_path.extra["checkpoint"] == copy / "best.safetensors"
    assert by_path.result.attrs["run"]["features_extracted"] == 0  # the same weights: the same cache file
    with pytest.raises(StepInputError, match="quality.checkpoint"):
        steps.generation_quality(_with(params, checkpoint=tmp_path / "absent.safetensors"), DATASET, "cpu")
    printed = CliRunner().invoke(app, ["params", "--params", str(params_path)])
    assert printed.exit_code == 0 and "quality:" in printed.output and "filter: false" in printed.output
