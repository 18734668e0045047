"""The dataset partitions: one key per dataset, added by the new-dataset sensor (or the demo)."""
from __future__ import annotations

from dagster import DynamicPartitionsDefinition

DATASET_PARTITIONS_NAME = "dataset"
dataset_partitions = DynamicPartitionsDefinition(name=DATASET_PARTITIONS_NAME)
