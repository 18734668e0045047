"""Errors that mean 'the input is wrong' (printed as one message), as opposed to bugs."""
from __future__ import annotations

from dlcr_assets.params import ParamsError
from dlcr_reid.errors import DatasetLayoutError, ReidInputError


class GenerationInputError(ValueError):
    """Bad input to a generation step: unloadable model id, empty prompt pool, one outfit..."""


class StepInputError(ValueError):
    """A step called with a bad dataset name, mode or shard; the message names the key and allowed values."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    ParamsError,
    DatasetLayoutError,
    ReidInputError,
    GenerationInputError,
    StepInputError,
    KeyError,
    FileNotFoundError,
)
