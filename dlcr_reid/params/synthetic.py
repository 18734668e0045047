"""The synthetic section: size, layout and seed of the embedded CC-ReID dataset (`dlcr synthetic-dataset`)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from dlcr_reid.params.base import StrictModel


class SyntheticParams(StrictModel):
    """How many people, outfits, cameras and images the procedural generator draws.

    Defaults are the CPU demo: 50 training + 40 test identities at 128x64, 2000 training images,
    480 gallery and 320 query images (about 15 s to write on one core).
    """

    root: Path = Path("data/raw/synthetic")
    seed: int = Field(0, ge=0)
    train_ids: int = Field(50, ge=2, description="identities of the training split")
    test_ids: int = Field(40, ge=2, description="identities of query + gallery, disjoint from training")
    outfits_per_id: int = Field(4, ge=2, le=99, description="outfits each identity wears")
    cameras: int = Field(6, ge=2, le=99, description="camera count (c1..cN)")
    train_cameras_per_outfit: int = Field(2, ge=1, description="cameras that see one training outfit")
    train_images_per_camera: int = Field(5, ge=1, description="training images per (id, outfit, camera)")
    gallery_outfits: int = Field(2, ge=1, description="outfits of a test id that the gallery holds")
    gallery_cameras_per_outfit: int = Field(2, ge=1)
    gallery_images_per_camera: int = Field(3, ge=1)
    query_images_per_outfit: int = Field(2, ge=1, description="query images per test outfit (one camera)")
    trap_fraction: float = Field(
        0.5, ge=0.0, le=1.0,
        description="share of query-only test outfits copied from ANOTHER test id's gallery outfit "
        "(the clothes-changing trap: same clothes, different person)",
    )
    height: int = Field(128, ge=32)
    width: int = Field(64, ge=16)

    @model_validator(mode="after")
    def _consistent(self) -> "SyntheticParams":
        if self.gallery_outfits >= self.outfits_per_id:
            raise ValueError(
                f"gallery_outfits ({self.gallery_outfits}) must be < outfits_per_id ({self.outfits_per_id}) "
                "so that some query outfits are absent from the gallery"
            )
        if self.train_cameras_per_outfit > self.cameras:
            raise ValueError(f"train_cameras_per_outfit ({self.train_cameras_per_outfit}) exceeds cameras ({self.cameras})")
        # A gallery outfit needs its cameras plus one more for the query of the same clothes
        # (same pid + same camera is junk, so that query needs a camera the gallery lacks).
        if self.gallery_cameras_per_outfit + 1 > self.cameras:
            raise ValueError(f"gallery_cameras_per_outfit ({self.gallery_cameras_per_outfit}) must be < cameras "
                             f"({self.cameras}): the same-clothes query needs a camera of its own")
        if self.height < 2 * self.width * 0.75:
            raise ValueError(f"height ({self.height}) must be at least 1.5 x width ({self.width}): people stand upright")
        return self
