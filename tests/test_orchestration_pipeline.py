"""The whole asset graph materializes in-process on tiny synthetic data, every check passing.

This is the demo's code path (`dlcr-demo` = run_pipeline on the default params), at a size that
takes well under a few minutes: a dozen identities, 2 variants per image, 2 shards, one short epoch.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings

import pandas as pd
from dagster import AssetKey, DagsterInstance
from dagster._core.instance.ref import InstanceRef
from PIL import Image

from orchestration_helpers import REPO, server_env, tiny_params, write_params

warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*")


def test_full_asset_graph_materializes_with_all_checks_passing(tmp_path):
    # `dlcr-demo` itself, in its own process: it adds the shard keys of these params (2) at run time
    params_path = write_params(tmp_path / "params.yaml", tiny_params(absolute_to=tmp_path, shards=2))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = server_env(DAGSTER_HOME=str(home))
    env.pop("MLFLOW_TRACKING_URI", None)  # the default store: sqlite:///<cwd>/mlflow.db
    demo = subprocess.run([sys.executable, "-m", "dagster_project.demo", "--params", str(params_path)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-5000:]
    assert "DLCR + refinement" in demo.stdout and str(tmp_path / "data/comparison_report/synthetic/comparison.md") in demo.stdout
    summary = json.loads((tmp_path / "data/comparison_report/synthetic/comparison.json").read_text())

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:

        # every asset has a materialization for the partition (both shards for generated_images)
        for asset in ("dataset_index", "clothing_descriptions", "clothing_prompts", "clothing_masks", "query_variants",
                      "reid_checkpoint_baseline", "generation_quality", "reid_checkpoint_dlcr", "evaluation_reports",
                      "comparison_report"):
            assert instance.get_latest_materialization_event(AssetKey(asset)) is not None, asset
        shards = instance.get_materialized_partitions(AssetKey("generated_images"))
        assert len(shards) == 2 and all("synthetic" in key for key in shards), shards
        # all checks ran and passed (run_pipeline raises on a failed one; here we read them back)
        from dagster_project.definitions import defs

        check_keys = defs.resolve_asset_graph().asset_check_keys
        assert len(check_keys) == 6
        for check_key in check_keys:
            record = instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])
            execution = record.get(check_key)
            assert execution is not None and execution.status.value == "SUCCEEDED", check_key

        index_md = instance.get_latest_materialization_event(AssetKey("generated_images")).asset_materialization.metadata
        assert "data:image/png;base64," in index_md["samples"].value
        assert index_md["mlflow_run"].value.startswith("http://127.0.0.1:5000/#/experiments/")

    data = tmp_path / "data"
    manifest = pd.read_parquet(data / "generated_images" / "synthetic.parquet")
    train = pd.read_parquet(data / "dataset_index" / "synthetic.parquet").query("split == 'train'")
    masks = pd.read_parquet(data / "clothing_masks" / "synthetic.parquet")
    usable = masks[(masks["status"] == "ok") & masks["path"].isin(train["path"])]
    assert (manifest["status"] == "ok").sum() == len(usable) * 2  # both shards merged, 2 variants each

    report_dir = data / "comparison_report" / "synthetic"
    comparison = json.loads((report_dir / "comparison.json").read_text())
    assert [row["method"] for row in comparison["rows"]] == ["baseline", "DLCR", "DLCR + refinement"]
    baseline, dlcr, refined = comparison["rows"]
    for row in (baseline, dlcr):
        assert all(row[key] is not None for key in ("cc_top1", "cc_mAP", "general_top1", "general_mAP")), row
    # refinement: CMC rank-1, mAP and the fused top-1 of CC queries; no general numbers
    assert all(refined[key] is not None for key in ("cc_top1", "cc_mAP", "cc_fused_top1")), refined
    assert refined["general_top1"] is None and refined["general_mAP"] is None
    assert set(comparison["stage_seconds"]) >= {"generated_images", "reid_checkpoint_dlcr"}
    assert comparison["stage_seconds"]["reid_checkpoint_baseline"] > 0
    assert "| DLCR + refinement |" in (report_dir / "comparison.md").read_text()
    assert Image.open(report_dir / "comparison.png").size[0] > 300
    assert Image.open(report_dir / "samples.png").size[0] > 64
    assert summary["rows"] == comparison["rows"]
    assert set(comparison["metrics"]) == {"baseline", "dlcr", "dlcr_refinement"}

    # the pixel check really looks: one changed pixel outside the mask is caught
    from dagster_project.defs.generation.checks import _pixels_outside_mask_changed

    row = next(manifest[manifest["status"] == "ok"].itertuples())
    mask_by_source = dict(zip(masks["path"], masks["mask_path"]))
    assert _pixels_outside_mask_changed(row, mask_by_source) == 0
    mask = Image.open(mask_by_source[row.source_path]).convert("L")
    outside = next((x, y) for y in range(mask.height) for x in range(mask.width) if mask.getpixel((x, y)) == 0)
    tampered = Image.open(row.path).convert("RGB")
    r, g, b = tampered.getpixel(outside)
    tampered.putpixel(outside, ((r + 128) % 256, g, b))
    tampered.save(row.path)
    assert _pixels_outside_mask_changed(row, mask_by_source) == 1

    # runs landed in the project's MLflow store, tagged with the Dagster run and partition
    import mlflow

    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("dlcr-test")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    assert all(run.info.status == "FINISHED" for run in runs)
    tagged = {run.data.tags.get("dagster.asset_key") for run in runs}
    assert {"clothing_masks", "generated_images", "reid_checkpoint_dlcr", "evaluation_reports"} <= tagged
    assert any(run.data.tags.get("dagster.partition") == "synthetic" for run in runs)

    # each checkpoint asset registered its checkpoint; the evaluation asset crowned it (the CLI's step functions)
    for mode in ("baseline", "dlcr"):
        champion = client.get_model_version_by_alias(f"dlcr-synthetic-{mode}", "champion")
        assert champion.run_id in {run.info.run_id for run in runs} and "cc_top1" in champion.tags
        assert champion.tags["mode"] == mode
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
