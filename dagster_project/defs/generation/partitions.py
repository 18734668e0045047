"""Generation's partitions: dataset x shard, the shard keys following params.generation.shards.

Both dimensions are dynamic, so loading the definitions reads no params.yaml: the shard keys
("0" .. "n-1" for n = generation.shards) are added at run time by the shard sensor, the schedule
or the demo through ``shard_key_changes``. Partitioning stops at the shard: a UI stays usable with
thousands of partitions, not millions, so an image is never a partition (SPEC §3).
"""
from __future__ import annotations

from dagster import DynamicPartitionsDefinition, MultiPartitionKey, MultiPartitionsDefinition

from dagster_project.defs.data.partitions import DATASET_PARTITIONS_NAME, dataset_partitions

SHARD_PARTITIONS_NAME = "shard"
shard_partitions = DynamicPartitionsDefinition(name=SHARD_PARTITIONS_NAME)
dataset_shard_partitions = MultiPartitionsDefinition({DATASET_PARTITIONS_NAME: dataset_partitions,
                                                      SHARD_PARTITIONS_NAME: shard_partitions})


def dataset_shard_key(dataset: str, shard: int) -> MultiPartitionKey:
    return MultiPartitionKey({DATASET_PARTITIONS_NAME: dataset, SHARD_PARTITIONS_NAME: str(shard)})


def shard_keys(shards: int) -> list[str]:
    """The shard keys of ``shards`` = params.generation.shards."""
    return [str(k) for k in range(shards)]


def shard_key_changes(known: list[str], shards: int) -> tuple[list[str], list[str]]:
    """(keys to add, keys to delete) so the instance's shard keys are exactly ``shard_keys(shards)``.

    A key left over from a larger shard count is deleted: the DLCR checkpoint waits for every
    shard partition of its dataset, and a stale one would never be generated.
    """
    wanted = shard_keys(shards)
    return [k for k in wanted if k not in known], [k for k in known if k not in wanted]


def sync_shard_keys(instance, shards: int) -> list[str]:
    """Apply ``shard_key_changes`` to ``instance`` directly (the schedule, the demo); return the keys."""
    add, delete = shard_key_changes(list(instance.get_dynamic_partitions(SHARD_PARTITIONS_NAME)), shards)
    if add:
        instance.add_dynamic_partitions(SHARD_PARTITIONS_NAME, add)
    for key in delete:
        instance.delete_dynamic_partition(SHARD_PARTITIONS_NAME, key)
    return shard_keys(shards)


def shard_of(context, params) -> tuple[int, int]:
    """(k, n) of a dataset x shard partition: the shard count has one source, params.generation.shards,
    read when the step runs (the partition keys follow it), validated by the steps' one checker."""
    from dlcr_assets import steps

    shards = int(params.generation.shards)
    return steps.parse_shard(f"{context.partition_key.keys_by_dimension[SHARD_PARTITIONS_NAME]}/{shards}", shards)
