"""How steps run, shared by every domain's jobs: the GPU pool and tags, the executor, Celery, Kubernetes.

Steps tagged as GPU work run one at a time per run (the multiprocess executor's tag limit) and
one at a time per instance (the `gpu` pool). Every job's executor is ``pipeline_executor``: the
GPU-limited multiprocess executor on one machine (the default), or dagster-celery's executor,
whose workers may sit on other machines; GPU steps then go to the Celery queue `gpu`, the rest
to `dagster`. $DLCR_EXECUTOR (multiprocess or celery, read when the definitions load) picks the
default; a run's config may pick the other (`execution: {config: {celery: {}}}`).
``k8s_executor_config`` is the way out to Kubernetes. Sensors and the schedule start with the
daemon; DLCR_AUTOMATION=off starts them stopped (a UI session or a test that launches runs by
hand), to be switched on in the UI.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dagster import (DefaultScheduleStatus, DefaultSensorStatus, Field, Selector, StringSource, executor,
                     multiple_process_executor_requirements, multiprocess_executor)

GPU_POOL = "gpu"
GPU_TAG_KEY, GPU_TAG_VALUE = "dlcr/gpu", "true"
# Celery queues: GPU steps go to `gpu` (dagster-celery reads this op tag), every other step to
# dagster-celery's default queue `dagster`; the multiprocess executor ignores the queue tag
GPU_QUEUE, DEFAULT_QUEUE = "gpu", "dagster"
CELERY_QUEUE_TAG = "dagster-celery/queue"
GPU_TAGS = {GPU_TAG_KEY: GPU_TAG_VALUE, CELERY_QUEUE_TAG: GPU_QUEUE}

AUTOMATION_DEFAULT_STATUS = (
    DefaultSensorStatus.STOPPED if os.environ.get("DLCR_AUTOMATION", "on").lower() == "off" else DefaultSensorStatus.RUNNING
)
SCHEDULE_DEFAULT_STATUS = DefaultScheduleStatus(AUTOMATION_DEFAULT_STATUS.value)

# Several CPU steps may run side by side; steps tagged as GPU work go one at a time per run.
MULTIPROCESS_CONFIG = {
    "max_concurrent": 4,
    "tag_concurrency_limits": [{"key": GPU_TAG_KEY, "value": GPU_TAG_VALUE, "limit": 1}],
}

EXECUTORS = ("multiprocess", "celery")
EXECUTOR_ENV, BROKER_ENV, REDELIVERY_ENV = "DLCR_EXECUTOR", "DLCR_CELERY_BROKER", "DLCR_CELERY_REDELIVERY_S"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
# A Redis broker hands a task that no worker acknowledged back to the queue this long after it
# was delivered: it must exceed the longest step (a generation shard), or a healthy step also runs
# a second time. It is also how late a shard of a dead worker starts again elsewhere.
DEFAULT_REDELIVERY_S = 6 * 3600
RESTORE_SWEEP_S = 10


def chosen_executor(environ: Mapping[str, str] = os.environ) -> str:
    """$DLCR_EXECUTOR, by default ``multiprocess``; anything else is an error naming the variable."""
    value = environ.get(EXECUTOR_ENV, "multiprocess").strip().lower() or "multiprocess"
    if value not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV} must be one of {', '.join(EXECUTORS)}, got {value!r}")
    return value


def celery_broker(environ: Mapping[str, str] = os.environ) -> str:
    """$DLCR_CELERY_BROKER (a redis:// URL), by default Redis on 127.0.0.1:6379, database 0."""
    value = environ.get(BROKER_ENV, "").strip() or DEFAULT_BROKER
    if not value.startswith(("redis://", "rediss://")):
        raise ValueError(f"{BROKER_ENV} must be a redis:// or rediss:// URL, got {value!r}")
    return value


def redelivery_seconds(environ: Mapping[str, str] = os.environ) -> int:
    """$DLCR_CELERY_REDELIVERY_S: seconds after which Redis gives an unacknowledged task to another worker."""
    text = environ.get(REDELIVERY_ENV, "").strip()
    try:
        value = int(text) if text else DEFAULT_REDELIVERY_S
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{REDELIVERY_ENV} must be a positive number of seconds, got {text!r}")
    return value


def celery_worker_settings(redelivery_s: int) -> dict[str, Any]:
    """Celery settings of the workers (dagster_project.celery_worker) that make a lost step run again.

    A task is acknowledged when it ends, not when it starts (``task_acks_late``): a worker killed
    mid-step leaves it unacknowledged, and Redis delivers it to another worker ``redelivery_s``
    (its ``visibility_timeout``) to ``redelivery_s + RESTORE_SWEEP_S`` seconds after it was first
    delivered. ``task_reject_on_worker_lost`` asks Celery to put a task back at once when only the
    pool process dies under a living worker (the OOM killer); the tests kill whole workers only.
    Each worker process takes one task at a time, so nothing waits behind a long shard.
    """
    from dagster_celery.defaults import broker_transport_options

    return {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # kombu looks for such tasks every unacked_restore_interval x unacked_restore_throttle
        # seconds (10 x 10 by default): every 10 s instead, one cheap Redis query per worker
        "broker_transport_options": {**broker_transport_options, "visibility_timeout": redelivery_s,
                                     "unacked_restore_interval": RESTORE_SWEEP_S, "unacked_restore_throttle": 1},
    }


CELERY_CONFIG = {
    "broker": Field(StringSource, is_required=False,
                    description=f"Redis URL of the Celery broker; default ${BROKER_ENV}, else {DEFAULT_BROKER}."),
    "backend": Field(StringSource, is_required=False,
                     description="Redis URL where the workers leave each step's events; default: the broker's."),
}


@executor(
    name="multiprocess_or_celery",
    config_schema=Field(Selector({"multiprocess": {}, "celery": CELERY_CONFIG}),
                        default_value={chosen_executor(): {}}),
    requirements=multiple_process_executor_requirements(),
)
def pipeline_executor(init_context):
    """The GPU-limited multiprocess executor, or dagster-celery's executor on the broker."""
    from dagster import InitExecutorContext
    from dagster._core.execution.retries import RetryMode

    config = init_context.executor_config
    if "celery" not in config:
        return multiprocess_executor.executor_creation_fn(InitExecutorContext(
            job=init_context.job, executor_def=multiprocess_executor, instance=init_context.instance,
            executor_config={**MULTIPROCESS_CONFIG, "retries": {"enabled": {}}}))
    from dagster_celery.executor import CeleryExecutor

    broker = config["celery"].get("broker") or celery_broker()
    return CeleryExecutor(retries=RetryMode.ENABLED, broker=broker, backend=config["celery"].get("backend") or broker)


GPU_STEPS = ("clothing_descriptions", "clothing_prompts", "clothing_masks", "generated_images", "query_variants",
             "reid_checkpoint_baseline", "reid_checkpoint_dlcr", "discriminator", "guided_images", "generation_quality")


def k8s_executor_config(gpus_per_step: int = 1, namespace: str = "dagster", image: str | None = None,
                        max_concurrent: int = 8) -> dict[str, Any]:
    """Run config for dagster-k8s' `k8s_job_executor`: every step a Kubernetes Job, GPU steps with N GPUs.

    GPU steps request ``nvidia.com/gpu`` (limits = requests, as the device plugin requires) and
    tolerate GPU-node taints; the cluster's scheduler then runs as many shards side by side as it
    has GPUs. CPU steps (index, evaluation report, comparison) get no GPU.
    """
    gpu = {"nvidia.com/gpu": str(gpus_per_step)}
    gpu_step = {
        "container_config": {"resources": {"limits": dict(gpu), "requests": dict(gpu)}},
        "pod_spec_config": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
    }
    config: dict[str, Any] = {
        "job_namespace": namespace,
        "max_concurrent": max_concurrent,
        "env_vars": ["DAGSTER_HOME", "DLCR_PARAMS", "MLFLOW_TRACKING_URI", "MLFLOW_DISABLE_TELEMETRY=true"],
        "step_k8s_config": {"container_config": {"resources": {"requests": {"cpu": "2", "memory": "8Gi"}}}},
        "per_step_k8s_config": {step: gpu_step for step in GPU_STEPS},
    }
    if image:
        config["job_image"] = image
    return {"execution": {"config": config}}
