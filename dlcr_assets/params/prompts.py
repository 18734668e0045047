"""The prompts section of params.yaml: how answers become the clothing prompt table, and novel outfits."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from dlcr_reid.params import StrictModel


class PromptsParams(StrictModel):
    """Defaults are the CPU demo (``vocabulary``); ``llm`` with the defaults below is the original DLCR setup."""

    # vocabulary: "<colour> [<pattern>] <garment>" items found with dlcr_assets.garments (CPU).
    # llm: any instruction-tuned causal LM through transformers (original: Llama-2-7b-chat).
    backend: Literal["vocabulary", "llm"] = "vocabulary"
    model_id: str = "meta-llama/Llama-2-7b-chat-hf"
    temperature: float = Field(0.6, ge=0.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    max_new_tokens: int = Field(256, ge=1)
    max_words: int = Field(200, ge=1)  # words of an outfit's joined answers the LLM sees
    retries: int = Field(2, ge=0)  # extra LLM attempts for an unusable reply before the vocabulary fallback
    batch_size: int = Field(8, ge=1)
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    seed: int = 0
    # Novel outfits beyond the original: novel_factor x (dataset outfits) rows, so the default 9
    # makes the pool 10x the dataset's clothing diversity (the paper's claim). novel_outfits, when
    # set, is an absolute count that overrides the factor.
    novel_factor: int = Field(9, ge=0)
    novel_outfits: int | None = Field(None, ge=0)
    distinct_adjacent_colours: bool = True  # e.g. no navy coat over a navy top in generated outfits
    pattern_probability: float = Field(0.25, ge=0.0, le=1.0)  # chance a patternable garment is not plain
