"""Jobs and executors: the per-dataset pipeline, regeneration, and the Kubernetes way out.

A run targets one partitions definition, so a dataset's pipeline is three jobs in a row:
`dataset_pipeline` (index .. masks, query variants, baseline checkpoint; partition = dataset),
`regeneration` (generated_images; partition = dataset x shard) and `dlcr_training`
(DLCR checkpoint, evaluation, comparison). The sensor requests the first; the automation
sensor (definitions.py) starts the others as soon as their inputs are materialized.
"""
from __future__ import annotations

from typing import Any

from dagster import AssetSelection, define_asset_job, multiprocess_executor

from dagster_project.assets import FINISH_ASSETS, PREPARE_ASSETS, generated_images
from dagster_project.assets.common import GPU_TAGS

GPU_TAG_KEY, GPU_TAG_VALUE = next(iter(GPU_TAGS.items()))

# Several CPU steps may run side by side; steps tagged as GPU work go one at a time per run.
MULTIPROCESS_CONFIG = {
    "max_concurrent": 4,
    "tag_concurrency_limits": [{"key": GPU_TAG_KEY, "value": GPU_TAG_VALUE, "limit": 1}],
}
gpu_limited_executor = multiprocess_executor.configured(MULTIPROCESS_CONFIG, name="gpu_limited_multiprocess")

dataset_pipeline_job = define_asset_job(
    "dataset_pipeline",
    selection=AssetSelection.assets(*PREPARE_ASSETS),
    description="One dataset from its folder to the baseline checkpoint (then generation and DLCR follow).",
    executor_def=gpu_limited_executor,
)
regeneration_job = define_asset_job(
    "regeneration",
    selection=AssetSelection.assets(generated_images),
    description="Generate (again) the images of one dataset shard.",
    executor_def=gpu_limited_executor,
)
dlcr_training_job = define_asset_job(
    "dlcr_training",
    selection=AssetSelection.assets(*FINISH_ASSETS),
    description="Train on real + generated images, evaluate both models, write the comparison report.",
    executor_def=gpu_limited_executor,
)
ALL_JOBS = [dataset_pipeline_job, regeneration_job, dlcr_training_job]


GPU_STEPS = ("clothing_descriptions", "clothing_prompts", "clothing_masks", "generated_images", "query_variants",
             "reid_checkpoint_baseline", "reid_checkpoint_dlcr")


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
