"""The evaluation section: protocols, feature extraction and test-time prediction refinement."""
from __future__ import annotations

from pydantic import Field, field_validator

from dlcr_reid.params.base import StrictModel


class RefinementParams(StrictModel):
    """Test-time prediction refinement (SPEC §1.7): K clothing variants per query, top-k identities."""

    enabled: bool = True
    views: int = Field(4, ge=1, description="K: variant views per query (the same K target outfits for all)")
    top_k: int = Field(5, ge=1, description="k: identities scored per view; also the raised gallery entries")


class VideoParams(StrictModel):
    """Video test clips (CCVID): clip_len frames taken every `stride` frames; video = mean of clips."""

    clip_len: int = Field(8, ge=1)
    stride: int = Field(4, ge=1)


class EvaluationParams(StrictModel):
    batch_size: int = Field(64, ge=1)
    # None: the input size stored with the checkpoint (or given by the caller)
    height: int | None = Field(None, ge=16)
    width: int | None = Field(None, ge=8)
    flip: bool = True  # feature = f(x) + f(flipped x), then L2-normalised
    num_workers: int = Field(0, ge=0)
    distance_chunk_rows: int = Field(4096, ge=1, description="query rows per cosine-distance matmul")
    ranking_chunk_mb: int = Field(16, ge=1, description="memory per row chunk sorted by the metric")
    ranking_threads: int | None = Field(None, ge=1, description="chunks sorted at once; None: up to 2")
    ranks: list[int] = Field(default_factory=lambda: [1, 5, 10])
    cmc_max_rank: int = Field(50, ge=1, description="CMC ranks stored in reports and plotted")
    refinement: RefinementParams = Field(default_factory=RefinementParams)
    video: VideoParams = Field(default_factory=VideoParams)

    @field_validator("ranks")
    @classmethod
    def _positive_ranks(cls, value: list[int]) -> list[int]:
        if not value or any(rank < 1 for rank in value):
            raise ValueError(f"ranks must be a non-empty list of integers >= 1, got {value}")
        return sorted(set(value))
