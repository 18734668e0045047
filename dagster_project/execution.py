"""How steps run, shared by every domain's jobs: the GPU pool and tag, the executor, Kubernetes.

Steps tagged as GPU work run one at a time per run (the multiprocess executor's tag limit) and
one at a time per instance (the `gpu` pool). ``k8s_executor_config`` is the way out to a cluster.
Sensors and the schedule start with the daemon; DLCR_AUTOMATION=off starts them stopped (a UI
session or a test that launches runs by hand), to be switched on in the UI.
"""
from __future__ import annotations

import os
from typing import Any

from dagster import DefaultScheduleStatus, DefaultSensorStatus, multiprocess_executor

GPU_POOL = "gpu"
GPU_TAGS = {"dlcr/gpu": "true"}
GPU_TAG_KEY, GPU_TAG_VALUE = next(iter(GPU_TAGS.items()))

AUTOMATION_DEFAULT_STATUS = (
    DefaultSensorStatus.STOPPED if os.environ.get("DLCR_AUTOMATION", "on").lower() == "off" else DefaultSensorStatus.RUNNING
)
SCHEDULE_DEFAULT_STATUS = DefaultScheduleStatus(AUTOMATION_DEFAULT_STATUS.value)

# Several CPU steps may run side by side; steps tagged as GPU work go one at a time per run.
MULTIPROCESS_CONFIG = {
    "max_concurrent": 4,
    "tag_concurrency_limits": [{"key": GPU_TAG_KEY, "value": GPU_TAG_VALUE, "limit": 1}],
}
gpu_limited_executor = multiprocess_executor.configured(MULTIPROCESS_CONFIG, name="gpu_limited_multiprocess")


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
