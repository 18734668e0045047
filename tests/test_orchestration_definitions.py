"""The Dagster code location loads, names its assets after the pipeline steps, and builds its executors."""
from __future__ import annotations

import warnings

import pytest
from dagster import AssetKey, Definitions, define_asset_job, validate_run_config
from dagster_k8s import k8s_job_executor

warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*")

EXPECTED_ASSETS = {
    "synthetic_dataset", "dataset_index", "clothing_descriptions", "clothing_prompts", "clothing_masks",
    "generated_images", "query_variants", "reid_checkpoint_baseline", "reid_checkpoint_dlcr",
    "evaluation_reports", "comparison_report", "discriminator", "guided_images", "generation_quality",
}
GPU_ASSETS = {"clothing_descriptions", "clothing_prompts", "clothing_masks", "generated_images", "query_variants",
              "reid_checkpoint_baseline", "reid_checkpoint_dlcr", "discriminator", "guided_images", "generation_quality"}


def test_definitions_load_and_every_asset_is_loadable():
    from dagster_project.definitions import defs

    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == EXPECTED_ASSETS
    for name in GPU_ASSETS:
        assert defs.resolve_assets_def(AssetKey(name)).op.pool == "gpu", name
    # generation is split dataset x shard; the rest per dataset
    assert set(graph.get(AssetKey("generated_images")).partitions_def.partition_dimension_names) == {"dataset", "shard"}
    checks = {key.name for key in graph.asset_check_keys}
    assert {"mask_coverage_within_bounds", "generated_count_equals_expected", "pixels_outside_mask_unchanged",
            "evaluation_report_complete", "kept_fraction_above_minimum"} <= checks
    # the generated images' two checks are the asset's own (evaluated from the plan it generated)
    generated = defs.resolve_assets_def(AssetKey("generated_images"))
    assert {key.name for key in generated.check_keys} == {"generated_count_equals_expected", "pixels_outside_mask_unchanged"}
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"dataset_pipeline", "generated_images_job", "dlcr_training"} <= jobs
    assert defs.resolve_sensor_def("new_dataset_sensor") and defs.resolve_sensor_def("shard_partitions_sensor")
    assert defs.resolve_schedule_def("generated_images_schedule")
    # one group per domain
    assert {graph.get(AssetKey(name)).group_name for name in ("synthetic_dataset", "clothing_masks")} == {"data"}
    assert graph.get(AssetKey("query_variants")).group_name == "generation"
    assert graph.get(AssetKey("comparison_report")).group_name == "reid"


def test_pipeline_jobs_limit_gpu_steps_to_one():
    from dagster import multiprocess_executor

    from dagster_project.definitions import defs
    from dagster_project.execution import MULTIPROCESS_CONFIG
    from dagster_project.resources import RESOURCES

    ALL_ASSETS = list(defs.assets)
    assert {"key": "dlcr/gpu", "value": "true", "limit": 1} in MULTIPROCESS_CONFIG["tag_concurrency_limits"]
    for name in ("dataset_pipeline", "generated_images_job", "dlcr_training"):
        assert defs.resolve_job_def(name).executor_def.name == "gpu_limited_multiprocess"
    # the configuration is valid for Dagster's own multiprocess executor
    plain = Definitions(assets=ALL_ASSETS, resources=RESOURCES, jobs=[define_asset_job("plain", selection=["synthetic_dataset"],
                                                                  executor_def=multiprocess_executor)])
    validate_run_config(plain.resolve_job_def("plain"), {"execution": {"config": MULTIPROCESS_CONFIG}})


@pytest.mark.parametrize("gpus", [1, 2])
def test_k8s_executor_config_validates_against_dagster_k8s(gpus):
    from dagster_project.definitions import defs
    from dagster_project.execution import k8s_executor_config
    from dagster_project.resources import RESOURCES

    ALL_ASSETS = list(defs.assets)
    run_config = k8s_executor_config(gpus_per_step=gpus, image="registry.example/dlcr:1")
    per_step = run_config["execution"]["config"]["per_step_k8s_config"]
    assert set(per_step) == GPU_ASSETS
    assert per_step["generated_images"]["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == str(gpus)
    k8s_defs = Definitions(assets=ALL_ASSETS, resources=RESOURCES, jobs=[define_asset_job("k8s_pipeline", selection=["synthetic_dataset"],
                                                                   executor_def=k8s_job_executor)])
    job = k8s_defs.resolve_job_def("k8s_pipeline")
    validated = validate_run_config(job, run_config)
    step_config = validated["execution"]["k8s"]["per_step_k8s_config"]["reid_checkpoint_dlcr"]
    assert step_config["container_config"]["resources"]["requests"] == {"nvidia.com/gpu": str(gpus)}
    assert "nvidia.com/gpu" not in str(validated["execution"]["k8s"]["step_k8s_config"])
    with pytest.raises(Exception):
        validate_run_config(job, {"execution": {"config": {"no_such_field": 1}}})
