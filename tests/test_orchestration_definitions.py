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
        assert defs.resolve_job_def(name).executor_def.name == "multiprocess_or_celery"
    # the runs the automation sensor and the UI's "Materialize" launch: the implicit asset job
    assert defs.resolve_implicit_global_asset_job_def().executor_def.name == "multiprocess_or_celery"
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


def test_celery_queues_executor_choice_and_config_errors():
    from dagster import DagsterInstance, InitExecutorContext
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.executor.multiprocess import MultiprocessExecutor
    from dagster_celery.defaults import task_default_queue
    from dagster_celery.executor import CeleryExecutor

    from dagster_project import execution
    from dagster_project.definitions import defs

    # GPU assets go to the `gpu` queue, every other step to dagster-celery's default queue
    assert execution.DEFAULT_QUEUE == task_default_queue
    for assets_def in defs.assets:
        for key in assets_def.keys:
            queue = assets_def.op.tags.get(execution.CELERY_QUEUE_TAG)
            assert queue == ("gpu" if key.to_user_string() in GPU_ASSETS else None), (key, queue)

    job = defs.resolve_job_def("generated_images_job")
    assert job.executor_def.config_schema.default_value == {"multiprocess": {}}  # $DLCR_EXECUTOR unset
    celery_config = {"execution": {"config": {"celery": {"broker": "redis://gpu-head:6379/0"}}}}
    validate_run_config(job, celery_config)
    with pytest.raises(Exception, match="brokr"):
        validate_run_config(job, {"execution": {"config": {"celery": {"brokr": "redis://gpu-head:6379/0"}}}})

    def make(config):
        with DagsterInstance.ephemeral() as instance:
            return job.executor_def.executor_creation_fn(InitExecutorContext(
                job=InMemoryJob(job), executor_def=job.executor_def, executor_config=config, instance=instance))

    celery = make({"celery": {"broker": "redis://gpu-head:6379/0"}})
    assert isinstance(celery, CeleryExecutor)
    assert (celery.broker, celery.backend) == ("redis://gpu-head:6379/0", "redis://gpu-head:6379/0")
    multiprocess = make({"multiprocess": {}})
    assert isinstance(multiprocess, MultiprocessExecutor)
    assert multiprocess._tag_concurrency_limits == execution.MULTIPROCESS_CONFIG["tag_concurrency_limits"]

    with pytest.raises(ValueError, match="DLCR_EXECUTOR must be one of multiprocess, celery, got 'dask'"):
        execution.chosen_executor({"DLCR_EXECUTOR": "dask"})
    with pytest.raises(ValueError, match="DLCR_CELERY_BROKER must be a redis://"):
        execution.celery_broker({"DLCR_CELERY_BROKER": "amqp://guest@localhost//"})
    with pytest.raises(ValueError, match="DLCR_CELERY_REDELIVERY_S must be a positive number of seconds, got 'soon'"):
        execution.redelivery_seconds({"DLCR_CELERY_REDELIVERY_S": "soon"})
    assert execution.celery_broker({}) == "redis://127.0.0.1:6379/0"


def test_celery_worker_app_and_executor_default_follow_the_environment(tmp_path):
    """In a fresh process (both are read at import): the workers' app and the jobs' default executor."""
    import json
    import subprocess
    import sys

    from orchestration_helpers import server_env

    probe = (
        "import json\n"
        "from dagster_project.celery_worker import app\n"
        "from dagster_project.definitions import defs\n"
        "conf = app.conf\n"
        "print(json.dumps({'broker': conf.broker_url, 'backend': conf.result_backend, 'acks_late': conf.task_acks_late,\n"
        "    'reject_on_worker_lost': conf.task_reject_on_worker_lost, 'transport': conf.broker_transport_options,\n"
        "    'tasks': sorted(t for t in app.tasks if not t.startswith('celery.')),\n"
        "    'default': defs.resolve_job_def('dlcr_training').executor_def.config_schema.default_value}))\n"
    )
    env = server_env(DLCR_EXECUTOR="celery", DLCR_CELERY_BROKER="redis://gpu-head:6380/2", DLCR_CELERY_REDELIVERY_S="7200",
                     DAGSTER_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["broker"] == seen["backend"] == "redis://gpu-head:6380/2"
    assert seen["acks_late"] is True and seen["reject_on_worker_lost"] is True
    assert seen["transport"]["visibility_timeout"] == 7200 and seen["transport"]["unacked_restore_throttle"] == 1
    assert "execute_plan" in seen["tasks"]
    assert seen["default"] == {"celery": {}}

    env["DLCR_EXECUTOR"] = "dask"
    bad = subprocess.run([sys.executable, "-c", "import dagster_project.definitions"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "DLCR_EXECUTOR must be one of multiprocess, celery, got 'dask'" in bad.stderr
