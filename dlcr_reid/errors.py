"""Errors dlcr_reid raises for bad input; each message names the file, key or expected layout."""
from __future__ import annotations


class DatasetLayoutError(ValueError):
    """A dataset root or split folder is missing or does not follow its format's layout."""


class ReidInputError(ValueError):
    """Bad input to training or evaluation (empty table, missing manifest column, NaN loss...)."""
