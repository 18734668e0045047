"""The new-dataset and shard sensors and the generated-images schedule, evaluated against a real Dagster instance."""
from __future__ import annotations

import json
import warnings
from datetime import datetime, timezone

import pytest
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
    """What the daemon does with a sensor's partition requests."""
    from dagster import AddDynamicPartitionsRequest

    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)


def test_sensor_adds_partition_for_new_folder_and_skips_malformed(tmp_path):
    from dagster_project.defs.data.sensors import new_dataset_sensor

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
    from dagster_project.defs.data.sensors import new_dataset_sensor

    params = tiny_params(absolute_to=tmp_path)
    params["datasets"] = {"ltcc": {"format": "ltcc", "root": str(tmp_path / "elsewhere" / "LTCC_ReID")}}
    params_path = write_params(tmp_path / "params.yaml", params)
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        first = new_dataset_sensor(_context(instance, params_path))
        assert not first.run_requests and "does not exist yet" in first.skip_reason.skip_message
        _ltcc_folder(tmp_path / "elsewhere" / "LTCC_ReID")
        second = new_dataset_sensor(_context(instance, params_path, first.cursor))
        assert [r.partition_key for r in second.run_requests] == ["ltcc"]


def test_shard_sensor_keeps_the_shard_keys_equal_to_params_shards(tmp_path):
    from dagster_project.defs.generation.sensors import shard_partitions_sensor

    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        for shards, expected in ((3, ["0", "1", "2"]), (3, ["0", "1", "2"]), (1, ["0"])):
            params_path = write_params(tmp_path / "params.yaml", tiny_params(absolute_to=tmp_path, shards=shards))
            result = shard_partitions_sensor(_context(instance, params_path))
            _apply(instance, result)
            assert sorted(instance.get_dynamic_partitions("shard")) == expected
        again = shard_partitions_sensor(_context(instance, params_path))  # nothing left to change
        assert not again.dynamic_partitions_requests and "match generation.shards=1" in again.skip_reason.skip_message


def _schedule_context(instance, params_path, hour: int):
    from dagster_project.resources import ParamsResource

    # 2026-11-01 is a Sunday: params' default cron "0 3 * * 0" is due at 03:00 UTC
    return build_schedule_context(instance=instance, resources={"params": ParamsResource(path=str(params_path))},
                                  scheduled_execution_time=datetime(2026, 11, 1, hour, tzinfo=timezone.utc))


def test_generated_images_schedule_requests_every_dataset_shard_when_params_cron_is_due(tmp_path):
    from dagster import SkipReason

    from dagster_project.defs.generation.schedules import generated_images_schedule

    params = tiny_params(absolute_to=tmp_path, shards=3)
    params_path = write_params(tmp_path / "params.yaml", params)
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        assert isinstance(generated_images_schedule(_schedule_context(instance, params_path, 3)), SkipReason)  # no dataset yet
        instance.add_dynamic_partitions("dataset", ["ltcc", "synthetic"])
        requests = generated_images_schedule(_schedule_context(instance, params_path, 3))
        keys = sorted((r.partition_key.keys_by_dimension["dataset"], r.partition_key.keys_by_dimension["shard"]) for r in requests)
        assert keys == sorted((d, str(k)) for d in ("ltcc", "synthetic") for k in range(3))
        assert len({r.run_key for r in requests}) == len(requests)
        assert sorted(instance.get_dynamic_partitions("shard")) == ["0", "1", "2"]  # the runs' keys exist
        # the hourly tick after: the cron is not due again
        assert "last due" in generated_images_schedule(_schedule_context(instance, params_path, 4)).skip_message
        # the cron is read at the tick: a new one in params.yaml applies without reloading the definitions
        params["orchestration"]["generated_images_cron"] = "30 3 * * 0"
        write_params(params_path, params)
        assert isinstance(generated_images_schedule(_schedule_context(instance, params_path, 3)), SkipReason)
        assert len(generated_images_schedule(_schedule_context(instance, params_path, 4))) == 6
        params["orchestration"]["generated_images_cron"] = "every sunday"
        write_params(params_path, params)
        with pytest.raises(Exception, match="generated_images_cron"):
            generated_images_schedule(_schedule_context(instance, params_path, 3))


def test_folder_names_become_safe_partition_keys_and_resolve_back(tmp_path):
    from dlcr_assets.params import parse_params
    from dlcr_assets.layout import resolve_dataset, sanitize_dataset_name

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
