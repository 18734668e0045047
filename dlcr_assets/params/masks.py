"""The masks section of params.yaml: how clothing masks are made (SPEC §1.3).

Defaults are the CPU demo: the embedded synthetic dataset ships LIP parsing maps, read by the
``parsing-maps`` backend. On real data either point ``parsing_root`` at precomputed SCHP maps
(``label_scheme: lip`` or ``atr``) or use ``backend: segformer`` with any semantic-segmentation
checkpoint (default id ``mattmdjaga/segformer_b2_clothes``, ATR labels).
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from dlcr_reid.params import StrictModel


class MasksParams(StrictModel):
    backend: Literal["parsing-maps", "segformer"] = "parsing-maps"
    # segformer backend: hub id or local folder of an AutoModelForSemanticSegmentation checkpoint
    model_id: str = "mattmdjaga/segformer_b2_clothes"
    # parsing-maps backend: label scheme of the PNG maps and where they live when the index has no
    # parsing_path column (the folder mirrors the image paths relative to the dataset root)
    label_scheme: Literal["lip", "atr"] = "lip"
    parsing_root: Path | None = None
    # grow the mask by this many pixels (square kernel); the original used none
    dilation: int = Field(0, ge=0, le=64)
    # masks covering less / more than these fractions of the image are excluded from generation
    min_coverage: float = Field(0.01, ge=0.0, le=1.0)
    max_coverage: float = Field(0.9, ge=0.0, le=1.0)
    batch_size: int = Field(8, ge=1)
    # splits the masks are made for: training images (generation) and queries (query variants)
    splits: list[str] = Field(default_factory=lambda: ["train", "query", "query_same", "query_diff"])

    @model_validator(mode="after")
    def _coverage_order(self) -> "MasksParams":
        if self.min_coverage >= self.max_coverage:
            raise ValueError(f"min_coverage ({self.min_coverage}) must be below max_coverage ({self.max_coverage})")
        return self
