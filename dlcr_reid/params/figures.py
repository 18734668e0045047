"""The figures renderer's settings: a second, independent synthetic CC-ReID dataset in the VC-Clothes layout.

`dlcr synthetic-dataset --renderer vcclothes-figures` draws it (see ``dlcr_reid.datasets.figures``). It differs
from the embedded dataset (``SyntheticParams``) on purpose: another body model (a jointed skeleton
with a walking pose), garment TYPES that change between outfits (sleeve lengths, shorts, skirts,
dresses, coats over shirts), four cameras with their own view, scale, background and lighting,
JPEG images and the VC-Clothes file names.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from dlcr_reid.params.base import StrictModel

RENDERERS = ("ltcc-synthetic", "vcclothes-figures")  # the names `dlcr synthetic-dataset --renderer` takes


class FiguresParams(StrictModel):
    """How many people, outfits and images the figures renderer draws (defaults: ~1,200 images, a few seconds).

    Test identities follow VC-Clothes' camera plan: cameras 2 and 3 see outfit 1 (the SC protocol
    keeps cameras 2, 3), camera 4 sees outfit 2 (the CC protocol keeps cameras 3, 4), camera 1 sees
    outfits 3.. (or outfit 1 when a person has only two). The first image of each (person, camera)
    goes to query, the others to gallery.
    """

    renderer: Literal["vcclothes-figures"] = "vcclothes-figures"
    root: Path = Path("data/raw/figures")
    seed: int = Field(0, ge=0)
    train_ids: int = Field(40, ge=2, le=4999, description="identities of the training split")
    test_ids: int = Field(40, ge=2, le=4999, description="identities of query + gallery, disjoint from training")
    outfits_per_id: int = Field(3, ge=2, le=9, description="outfits each identity owns")
    train_cameras_per_outfit: int = Field(2, ge=1, le=4, description="cameras (of 4) that see one training outfit")
    images_per_camera: int = Field(3, ge=2, le=99,
                                   description="images per (id, outfit, camera) in training; per (id, camera) "
                                               "in test, the first of them a query")
    tempting_fraction: float = Field(
        0.3, ge=0.0, le=1.0,
        description="share of test identities whose camera-4 outfit is a copy of ANOTHER test identity's "
                    "outfit 1 (same clothes, different person: a clothes matcher is fooled)",
    )
    height: int = Field(128, ge=48, le=1024)
    width: int = Field(64, ge=24, le=512)
    jpeg_quality: int = Field(95, ge=50, le=100)

    @model_validator(mode="after")
    def _upright(self) -> "FiguresParams":
        if self.height < 1.5 * self.width:
            raise ValueError(f"figures: height ({self.height}) must be at least 1.5 x width ({self.width}): "
                             "people stand upright")
        return self
