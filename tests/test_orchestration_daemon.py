"""The job chain under the daemon: a dataset folder dropped under watch_root ends in a comparison report.

A real `dagster dev` (webserver and daemon) with DLCR_AUTOMATION=on, so the sensors start
running; nothing is launched by the test. The chain it waits for is the one the README
describes: `new_dataset_sensor` adds the partition and runs `dataset_pipeline`,
`shard_partitions_sensor` adds the shard keys, and `dlcr_automation` runs generation (one run per
dataset x shard) and then quality, DLCR training, evaluation and the comparison report.

dagster.yaml has no setting that shortens a sensor's tick: each sensor's minimum_interval_seconds
(30 s here) is fixed in the definition, so the chain spends up to three 30 s waits between jobs.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from orchestration_helpers import (DAGSTER_REPOSITORY, REPO, dagster_dev, graphql, run_errors, server_env, tiny_params,
                                   write_params)

FOLDER = "Dropped Synthetic"  # the sensor's partition key is the sanitised folder name
DATASET = "dropped_synthetic"
SHARDS = 2
PER_DATASET_ASSETS = ("dataset_index", "clothing_descriptions", "clothing_prompts", "clothing_masks", "query_variants",
                      "reid_checkpoint_baseline", "generation_quality", "reid_checkpoint_dlcr", "evaluation_reports",
                      "comparison_report")
CHAIN_TIMEOUT_S = 720
SENSOR_TAG, AUTOMATION_TAG = "dagster/sensor_name", "dagster/from_automation_condition"

MATERIALIZATIONS = """
query Materialized($key: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $key) { ... on Asset { assetMaterializations(partitions: $partitions) {
    partition runId metadataEntries { label ... on IntMetadataEntry { intValue } } } } }
}"""
RUNS = """{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"""
TICKS = """
query Ticks($sensor: SensorSelector!) {
  sensorOrError(sensorSelector: $sensor) { ... on Sensor { sensorState { status
    ticks(limit: 2) { status skipReason runIds error { message } } } } }
}"""


@pytest.fixture
def daemon_dev(tmp_path):
    """`dagster dev` with the daemon and automation on, over tiny params whose watch root is empty."""
    params = tiny_params(absolute_to=tmp_path, shards=SHARDS)
    params["datasets"] = {}  # only what appears under the watch root becomes a partition
    params["tracking"]["uri"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    write_params(tmp_path / "params.yaml", params)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    _create_tracking_store(params)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = server_env(DAGSTER_HOME=str(home), DLCR_PARAMS=str(tmp_path / "params.yaml"), DLCR_AUTOMATION="on",
                     PYTHONPATH=str(REPO))
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("DLCR_EXECUTOR", None)
    with dagster_dev(tmp_path, env, tmp_path / "dagster.log") as base:
        yield base, tmp_path, params


def _create_tracking_store(params: dict) -> None:
    """The MLflow database and experiment, made once before the runs write to it side by side."""
    from mlflow.tracking import MlflowClient

    from dlcr_reid.training.tracking import ensure_experiment

    uri = params["tracking"]["uri"]
    artifacts = (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri()
    ensure_experiment(MlflowClient(tracking_uri=uri), params["tracking"]["experiment"], artifacts)


def _drop_dataset(params: dict, watch_root: Path) -> Path:
    """Draw a tiny synthetic dataset into the watch root (the writer renames a hidden folder into place)."""
    from dlcr_assets.params import parse_params
    from dlcr_reid.datasets import write_synthetic_dataset

    folder = watch_root / FOLDER
    write_synthetic_dataset(parse_params(params).synthetic.model_copy(update={"root": folder, "seed": 7}))
    return folder


def _expected_partitions() -> dict[str, list[str]]:
    # a dataset x shard key reads "<dataset>|<shard>" (dimensions in name order)
    return {"generated_images": [f"{DATASET}|{shard}" for shard in range(SHARDS)],
            **{asset: [DATASET] for asset in PER_DATASET_ASSETS}}


def _materialized(base: str) -> dict[str, dict[str, dict]]:
    """Asset -> {partition: its latest materialization (run id, metadata)} for the expected partitions."""
    found = {}
    for asset, partitions in _expected_partitions().items():
        events = graphql(base, MATERIALIZATIONS, {"key": {"path": [asset]}, "partitions": partitions})
        latest = {}
        for event in (events["assetOrError"] or {}).get("assetMaterializations", []):
            latest.setdefault(event["partition"], event)  # newest first
        found[asset] = latest
    return found


def _missing(found: dict[str, dict[str, dict]]) -> list[str]:
    return [f"{asset}[{partition}]" for asset, partitions in _expected_partitions().items()
            for partition in partitions if partition not in found.get(asset, {})]


def _diagnosis(base: str, runs: list[dict], root: Path) -> str:
    """What a failure message needs: each run, the failed runs' errors, the sensors' last ticks, the log tail."""
    lines = ["runs:"] + [f"  {r['jobName']} {r['status']} {r['runId'][:8]} "
                         f"{ {t['key']: t['value'] for t in r['tags'] if t['key'].startswith(('dagster/', 'dlcr/'))} }"
                         for r in runs]
    lines += run_errors(base, runs)
    for sensor in ("new_dataset_sensor", "shard_partitions_sensor", "dlcr_automation"):
        state = graphql(base, TICKS, {"sensor": {**DAGSTER_REPOSITORY, "sensorName": sensor}})["sensorOrError"].get("sensorState")
        lines.append(f"sensor {sensor}: {json.dumps(state)[:800]}")
    lines.append("dagster dev log:\n" + (root / "dagster.log").read_text()[-3000:])
    return "\n".join(lines)


def _wait_for_chain(base: str, root: Path) -> tuple[dict[str, dict[str, dict]], dict[str, dict]]:
    """Poll until every expected partition is materialized; fail at the first failed run or the timeout."""
    deadline = time.monotonic() + CHAIN_TIMEOUT_S
    while True:
        runs = graphql(base, RUNS)["runsOrError"]["results"]
        found = _materialized(base)
        missing = _missing(found)
        failed = [run for run in runs if run["status"] in ("FAILURE", "CANCELED")]
        active = [run for run in runs if run["status"] not in ("SUCCESS", "FAILURE", "CANCELED")]
        if failed:
            raise AssertionError(f"a run failed; missing {missing}\n{_diagnosis(base, runs, root)}")
        if not missing and not active:  # the report's run has ended too
            return found, {run["runId"]: run for run in runs}
        if time.monotonic() > deadline:
            raise AssertionError(f"after {CHAIN_TIMEOUT_S} s still missing {missing}\n{_diagnosis(base, runs, root)}")
        time.sleep(5)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_dropped_folder_runs_the_whole_chain_to_the_comparison_report(daemon_dev):
    base, root, params = daemon_dev
    started = time.monotonic()
    folder = _drop_dataset(params, root / "data" / "raw")

    found, runs = _wait_for_chain(base, root)
    chain_s = time.monotonic() - started

    def tags(run_id: str) -> dict[str, str]:
        return {t["key"]: t["value"] for t in runs[run_id]["tags"]}

    def run_of(asset: str, partition: str = DATASET) -> str:
        return found[asset][partition]["runId"]

    # the sensor ran dataset_pipeline on the new partition; the automation sensor ran everything after it
    pipeline_run = run_of("dataset_index")
    assert runs[pipeline_run]["jobName"] == "dataset_pipeline"
    assert tags(pipeline_run)[SENSOR_TAG] == "new_dataset_sensor"
    assert tags(pipeline_run)["dagster/partition"] == DATASET
    from dlcr_reid.datasets import detect_format

    assert tags(pipeline_run)["dlcr/format"] == detect_format(folder)
    for asset in ("clothing_descriptions", "clothing_prompts", "clothing_masks", "query_variants", "reid_checkpoint_baseline"):
        assert run_of(asset) == pipeline_run, asset
    shard_keys = _expected_partitions()["generated_images"]
    automated = {run_of("generated_images", key) for key in shard_keys}
    assert len(automated) == SHARDS  # one run per dataset x shard
    finish = {run_of(asset) for asset in ("generation_quality", "reid_checkpoint_dlcr", "evaluation_reports",
                                          "comparison_report")}
    assert len(finish) == 1  # quality, DLCR training, evaluation and the report in one run
    for run_id in automated | finish:
        assert tags(run_id).get(SENSOR_TAG) == "dlcr_automation" and tags(run_id).get(AUTOMATION_TAG) == "true", tags(run_id)
        # automation runs Dagster's implicit asset job, whose executor is the code location's default
        assert runs[run_id]["jobName"] == "__ASSET_JOB"
    assert pipeline_run not in automated | finish
    # nothing else ran: every run of the instance came from a sensor, none from the test
    assert all(SENSOR_TAG in tags(run_id) for run_id in runs), [tags(r) for r in runs]

    report_dir = root / "data" / "comparison_report" / DATASET
    comparison = json.loads((report_dir / "comparison.json").read_text())
    assert comparison["dataset"] == DATASET
    assert [row["method"] for row in comparison["rows"]] == ["baseline", "DLCR", "DLCR + refinement"]
    baseline, dlcr, refined = comparison["rows"]
    for row in (baseline, dlcr):
        for key in ("cc_top1", "cc_mAP", "general_top1", "general_mAP"):
            assert isinstance(row[key], (int, float)) and 0 <= row[key] <= 100, (key, row)
    for key in ("cc_top1", "cc_mAP", "cc_fused_top1"):
        assert isinstance(refined[key], (int, float)) and 0 <= refined[key] <= 100, (key, refined)
    # the report read the manifest both shards were merged into
    generated = [next(m["intValue"] for m in found["generated_images"][key]["metadataEntries"] if m["label"] == "generated")
                 for key in shard_keys]
    assert all(count > 0 for count in generated) and comparison["generated_images"] == sum(generated)
    assert comparison["stage_seconds"]["generated_images"] > 0 and comparison["stage_seconds"]["reid_checkpoint_dlcr"] > 0
    assert "| DLCR + refinement |" in (report_dir / "comparison.md").read_text()
    print(f"chain from the dropped folder to the report: {chain_s:.0f} s over {len(runs)} runs")
