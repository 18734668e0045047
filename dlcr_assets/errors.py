"""Errors that mean 'the input is wrong' (printed as one message), as opposed to bugs."""
from __future__ import annotations

from dlcr_assets.params import ParamsError
from dlcr_reid.errors import DatasetLayoutError, ReidInputError


class StepInputError(ValueError):
    """Bad input to any dlcr_assets step: a bad dataset name, mode or shard, an unloadable model id,
    an empty prompt pool, one outfit...; the message names the file or key and what is allowed."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    ParamsError,
    DatasetLayoutError,
    ReidInputError,
    StepInputError,
    KeyError,
    FileNotFoundError,
)
