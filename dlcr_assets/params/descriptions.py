"""The descriptions section of params.yaml: which describer answers "What clothes is the person wearing?"."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from dlcr_reid.params import StrictModel


class DescriptionsParams(StrictModel):
    """Defaults are the CPU demo (``parsing``); ``vlm`` with the defaults below is the original DLCR setup."""

    # parsing: garments from the human-parsing map, colours from the pixels (CPU, no weights).
    # vlm: any image-text-to-text checkpoint through transformers (original: LLaVA 1.5).
    backend: Literal["parsing", "vlm"] = "parsing"
    model_id: str = "llava-hf/llava-1.5-7b-hf"
    question: str = "What clothes is the person wearing?"
    temperature: float = Field(0.2, ge=0.0)  # 0 means greedy decoding
    max_new_tokens: int = Field(1024, ge=1)
    batch_size: int = Field(8, ge=1)
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"  # auto: fp16 on CUDA, fp32 on CPU
    seed: int = 0
    # Folder of LIP label-map PNGs (e.g. SCHP output) mirroring the dataset's image paths, suffix
    # .png, for images without a parsing_path: the lookup of masks.parsing_root (one rule for both).
    parsing_root: Path | None = None
    # Garments covering fewer pixels than this are not mentioned (parsing noise, occlusion).
    min_garment_pixels: int = Field(20, ge=1)
