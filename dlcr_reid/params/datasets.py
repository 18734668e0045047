"""The datasets section: a registry of name -> {format, root, options}."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from dlcr_reid.params.base import StrictModel


class DatasetSpec(StrictModel):
    """One dataset: the loader format, its root folder and loader options (e.g. VC-Clothes mode).

    Options are checked against the format: ``vcclothes`` takes ``mode`` in {all, sc, cc}; the
    other built-in formats take none; user-registered formats define their own.
    """

    format: str = Field(description="loader format, one of dlcr_reid.datasets.FORMATS")
    root: Path
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from dlcr_reid.datasets.registry import FORMATS  # late: users may register formats

        if value not in FORMATS:
            raise ValueError(f"unknown format {value!r}; allowed: {sorted(FORMATS)}")
        return value

    @model_validator(mode="after")
    def _known_options(self) -> "DatasetSpec":
        from dlcr_reid.datasets.registry import validate_options

        try:
            checked = validate_options(self.format, self.options)
        except ValueError as error:
            raise ValueError(f"format {self.format!r}: {error}") from None
        if checked != self.options:
            # Bypass validate_assignment (it would re-run this validator).
            object.__setattr__(self, "options", checked)
        return self
