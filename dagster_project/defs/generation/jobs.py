"""`generated_images_job`: generate (again) the images of one dataset shard (partition = dataset x shard)."""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from dagster_project.execution import pipeline_executor

generated_images_job = define_asset_job(
    "generated_images_job",
    selection=AssetSelection.assets("generated_images"),
    description="Generate (again) the images of one dataset shard.",
    executor_def=pipeline_executor,
)
