"""Generation's sensors: the shard keys follow params.generation.shards, and the automation hand-offs.

`shard_partitions_sensor` reads params.yaml at each tick (never when the definitions load) and
adds or deletes shard keys so they are exactly 0 .. generation.shards-1: a changed shard count
needs no reload of the code location. The automation sensor starts generation when a dataset's
masks and prompts are new, and DLCR training when all its shards are generated.
"""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

from dagster import (AddDynamicPartitionsRequest, AssetSelection, AutomationConditionSensorDefinition,
                     DeleteDynamicPartitionsRequest, SensorEvaluationContext, SensorResult, sensor)

from dagster_project.defs.generation.partitions import SHARD_PARTITIONS_NAME, shard_key_changes
from dagster_project.execution import AUTOMATION_DEFAULT_STATUS
from dagster_project.resources import ParamsResource


@sensor(minimum_interval_seconds=30, default_status=AUTOMATION_DEFAULT_STATUS,
        description="Keeps the shard partition keys equal to 0 .. params.generation.shards-1.")
def shard_partitions_sensor(context: SensorEvaluationContext, params: ParamsResource):
    shards = int(params.load().generation.shards)
    add, delete = shard_key_changes(list(context.instance.get_dynamic_partitions(SHARD_PARTITIONS_NAME)), shards)
    requests = ([AddDynamicPartitionsRequest(SHARD_PARTITIONS_NAME, add)] if add else []) + (
        [DeleteDynamicPartitionsRequest(SHARD_PARTITIONS_NAME, delete)] if delete else [])
    if not requests:
        return SensorResult(skip_reason=f"shard keys match generation.shards={shards}")
    context.log.info(f"generation.shards={shards}: adding shard keys {add}, deleting {delete}")
    return SensorResult(dynamic_partitions_requests=requests)


automation_sensor = AutomationConditionSensorDefinition(
    "dlcr_automation",
    target=AssetSelection.all(),
    default_status=AUTOMATION_DEFAULT_STATUS,
    minimum_interval_seconds=30,
)
