"""The Dagster code location: assets, checks, jobs, sensor, schedule and resources of DLCR.

`dagster dev` (pyproject: [tool.dagster] module_name) loads ``defs``. Paths in params.yaml are
relative to the working directory, so start Dagster from the project root (or set DLCR_PARAMS).
"""
from __future__ import annotations

from dagster import AssetSelection, AutomationConditionSensorDefinition, Definitions

from dagster_project.assets import ALL_ASSETS
from dagster_project.checks import ALL_CHECKS
from dagster_project.jobs import ALL_JOBS
from dagster_project.resources import BackendsResource, DeviceResource, MlflowResource, ParamsResource
from dagster_project.schedules import regeneration_schedule
from dagster_project.sensors import AUTOMATION_DEFAULT_STATUS, new_dataset_sensor

# Starts generation when a dataset's masks and prompts are new, and DLCR training when all its
# shards are generated: the hand-offs between the three partitioned jobs.
automation_sensor = AutomationConditionSensorDefinition(
    "dlcr_automation",
    target=AssetSelection.all(),
    default_status=AUTOMATION_DEFAULT_STATUS,
    minimum_interval_seconds=30,
)

RESOURCES = {
    "params": ParamsResource(),
    "device": DeviceResource(),
    "backends": BackendsResource(),
    "mlflow": MlflowResource(),
}

defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=ALL_JOBS,
    sensors=[new_dataset_sensor, automation_sensor],
    schedules=[regeneration_schedule],
    resources=RESOURCES,
)
