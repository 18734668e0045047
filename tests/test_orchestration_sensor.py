"""The new-dataset sensor and the regeneration schedule, evaluated against a real Dagster instance."""
from __future__ import annotations

import json
import warnings
from datetime import datetime, timezone

from dagster import DagsterInstance, build_schedule_context, build_sensor_context
from PIL import Image

from orchestration_helpers import tiny_params, write_params

warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*")


def _ltcc_folder(root):
    """A minimal LTCC layout: pid_outfit_camera_index.png in train/query/test."""
    for split, names in {"train": ["001_1_c1_000", "001_2_c2_000", "002_1_c1_000", "002_1_c3_001"],
                         "query": ["010_1_c1_000"], "test": ["010_2_c2_000", "010_1_c3_000"]}.items():
        (root / split).mkdir(parents=True)
        for name in names:
            Image.new("RGB", (16, 32), "gray").save(root / split / f"{name}.png")
    return root


def _context(instance, params_path, cursor=None):
    from dagster_project.resources import ParamsResource

    return build_sensor_context(instance=instance, cursor=cursor, resources={"params": ParamsResource(path=str(params_path))})


def _apply(instance, result):
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))


def test_sensor_adds_partition_for_new_folder_and_skips_malformed(tmp_path):
    from dagster_project.sensors import new_dataset_sensor

    params = tiny_params(absolute_to=tmp_path)
    params["datasets"] = {}
    params_path = write_params(tmp_path / "params.yaml", params)
    watch = tmp_path / "data" / "raw"
    _ltcc_folder(watch / "My LTCC Copy")
    (watch / "half-copied").mkdir(parents=True)
    (watch / "half-copied" / "README.txt").write_text("not images")

    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        context = _context(instance, params_path)
        result = new_dataset_sensor(context)
        assert [r.partition_key for r in result.run_requests] == ["my_ltcc_copy"]
        assert result.run_requests[0].tags["dlcr/format"] == "ltcc"
        assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [["my_ltcc_copy"]]
        _apply(instance, result)
        assert instance.get_dynamic_partitions("dataset") == ["my_ltcc_copy"]
        cursor = result.cursor
        assert set(json.loads(cursor)) == {"my_ltcc_copy", "half-copied"}

        # the next tick: nothing new; the malformed folder is not retried until it changes
        again = new_dataset_sensor(_context(instance, params_path, cursor))
        assert not again.run_requests
        assert again.skip_reason is not None

        # a fresh cursor sees the malformed folder again and says why it is skipped
        fresh = new_dataset_sensor(_context(instance, params_path))
        assert not fresh.run_requests
        assert "half-copied" in fresh.skip_reason.skip_message
        assert "matches no known dataset layout" in fresh.skip_reason.skip_message

        # the pipeline job runs on the partition the sensor requested
        from dagster_project.definitions import defs

        job = defs.resolve_job_def("dataset_pipeline")
        assert job.partitions_def.get_partition_keys(dynamic_partitions_store=instance) == ["my_ltcc_copy"]


def test_sensor_registers_params_datasets_once_they_exist(tmp_path):
    from dagster_project.sensors import new_dataset_sensor

    params = tiny_params(absolute_to=tmp_path)
    params["datasets"] = {"ltcc": {"format": "ltcc", "root": str(tmp_path / "elsewhere" / "LTCC_ReID")}}
    params_path = write_params(tmp_path / "params.yaml", params)
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        first = new_dataset_sensor(_context(instance, params_path))
        assert not first.run_requests and "does not exist yet" in first.skip_reason.skip_message
        _ltcc_folder(tmp_path / "elsewhere" / "LTCC_ReID")
        second = new_dataset_sensor(_context(instance, params_path, first.cursor))
        assert [r.partition_key for r in second.run_requests] == ["ltcc"]


def test_regeneration_schedule_requests_every_dataset_shard(tmp_path):
    from dagster_project.partitions import SHARD_COUNT
    from dagster_project.schedules import regeneration_schedule

    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        context = build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 11, 1, 3, tzinfo=timezone.utc))
        from dagster import SkipReason

        assert isinstance(regeneration_schedule(context), SkipReason)  # no dataset registered yet
        instance.add_dynamic_partitions("dataset", ["ltcc", "synthetic"])
        requests = regeneration_schedule(context)
        keys = sorted((r.partition_key.keys_by_dimension["dataset"], r.partition_key.keys_by_dimension["shard"]) for r in requests)
        assert keys == sorted((d, str(k)) for d in ("ltcc", "synthetic") for k in range(SHARD_COUNT))
        assert len({r.run_key for r in requests}) == len(requests)


def test_folder_names_become_safe_partition_keys_and_resolve_back(tmp_path):
    import pytest

    from dlcr_assets.params import parse_params
    from dlcr_assets.registry import resolve_dataset, sanitize_dataset_name

    assert sanitize_dataset_name("LTCC_ReID") == "ltcc_reid"
    assert sanitize_dataset_name("VC Clothes (v2)") == "vc_clothes_v2"
    assert sanitize_dataset_name("  PRCC.2024 ") == "prcc_2024"
    with pytest.raises(ValueError, match="no letters or digits"):
        sanitize_dataset_name("...")
    folder = _ltcc_folder(tmp_path / "raw" / "LTCC ReID")
    params = parse_params({"orchestration": {"watch_root": str(tmp_path / "raw")},
                           "datasets": {"mine": {"format": "ltcc", "root": str(folder)}}})
    assert resolve_dataset(params, "mine").format == "ltcc"  # params.yaml first
    detected = resolve_dataset(params, "ltcc_reid")  # else the watched folder, format detected
    assert (detected.format, detected.root) == ("ltcc", folder)
    with pytest.raises(KeyError, match="neither in params.yaml"):
        resolve_dataset(params, "absent")
