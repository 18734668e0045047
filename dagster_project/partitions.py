"""Partitions: one per dataset (dynamic, the sensor adds keys), and dataset x shard for generation.

Partitioning stops at the shard: a UI stays usable with thousands of partitions, not millions,
so an image is never a partition (SPEC §3).
"""
from __future__ import annotations

from dagster import DynamicPartitionsDefinition, MultiPartitionKey, MultiPartitionsDefinition, StaticPartitionsDefinition

DATASET_PARTITIONS_NAME = "dataset"
dataset_partitions = DynamicPartitionsDefinition(name=DATASET_PARTITIONS_NAME)


def _shard_count_from_params() -> int:
    """params.generation.shards of the project's params.yaml (the partition set is static)."""
    from dlcr_assets.params import default_params_path, load_params

    path = default_params_path()
    if not path.is_file():
        return 1
    return int(load_params(path).generation.shards)


SHARD_COUNT = _shard_count_from_params()
shard_partitions = StaticPartitionsDefinition([str(k) for k in range(SHARD_COUNT)])
dataset_shard_partitions = MultiPartitionsDefinition(
    {"dataset": dataset_partitions, "shard": shard_partitions}
)


def dataset_shard_key(dataset: str, shard: int) -> MultiPartitionKey:
    return MultiPartitionKey({"dataset": dataset, "shard": str(shard)})
