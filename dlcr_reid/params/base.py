"""Shared pieces of the typed configuration: strict models and the dataset-name rule."""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

# A dataset name becomes a Dagster partition key, a DVC foreach key and a folder name.
DATASET_NAME_PATTERN = r"[a-z0-9_-]+"
_DATASET_NAME_RE = re.compile(rf"^{DATASET_NAME_PATTERN}$")


class StrictModel(BaseModel):
    """Every params section rejects keys it does not know."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def check_dataset_name(name: str) -> str:
    """Return ``name`` if it is a safe identifier, else raise ValueError naming the pattern."""
    if not isinstance(name, str) or not _DATASET_NAME_RE.match(name):
        raise ValueError(
            f"dataset name {name!r} is not a safe identifier: it must match {DATASET_NAME_PATTERN}"
        )
    return name
