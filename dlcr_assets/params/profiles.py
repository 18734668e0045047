"""Profiles: named sets of section defaults that the top-level ``profile`` key of params.yaml picks.

Each section has its own table of named value sets (``SECTION_PROFILES[section][name]``); a
top-level profile (``PROFILES[name]``) picks one value set per section. A new profile of one
section is a new entry in that section's table plus a top-level profile that picks it.

- ``demo``: CPU backends and small sizes (the README's ``make demo``);
- ``paper``: the paper's models and settings (SPEC §1);
- ``fast``: ``paper`` with generation made fast (SPEC §3; ``FAST_GENERATION`` in
  dlcr_assets.params.generation): DPM-Solver++ multistep at 20 steps, bf16 on CUDA (``dtype:
  auto``), the batch from free GPU memory (``batch_size: auto``), channels_last, SDPA attention;
  ``compile`` and ``deepcache`` are switches left off. Every other section is the paper's.

The built-in profiles set the same keys, so ``dlcr params --sources`` shows each of those keys as
``profile:<name>`` whichever is chosen; the keys no profile sets keep the model's default.
"""
from __future__ import annotations

import copy
from typing import Any

from dlcr_assets.params.descriptions import DescriptionsParams
from dlcr_assets.params.discriminator import DiscriminatorParams
from dlcr_assets.params.generation import FAST_GENERATION, PAPER_GENERATION, GenerationParams
from dlcr_assets.params.masks import MasksParams
from dlcr_assets.params.prompts import PromptsParams
from dlcr_reid.params import EvaluationParams, TrainingParams
from dlcr_reid.params.training import DEMO_MIN_STEPS, PAPER_TRAINING

DEFAULT_PROFILE = "demo"

# The paper's steps (SPEC §1.1-1.3, §1.7); generation and training tables live beside their models.
PAPER_DESCRIPTIONS: dict[str, Any] = {
    "backend": "vlm", "model_id": "llava-hf/llava-1.5-7b-hf", "temperature": 0.2, "max_new_tokens": 1024,
}
# the original pool holds the dataset's own outfits only: no novel outfits
PAPER_PROMPTS: dict[str, Any] = {
    "backend": "llm", "model_id": "meta-llama/Llama-2-7b-chat-hf", "temperature": 0.6, "top_p": 0.9,
    "max_words": 200, "novel_factor": 0,
}
# SCHP/LIP-style parsing; segformer is the parser that runs from a hub id
PAPER_MASKS: dict[str, Any] = {"backend": "segformer", "model_id": "mattmdjaga/segformer_b2_clothes", "dilation": 0}
# SPEC §1.5: BCE + Adam 3e-4; latents at the generation size (256x768), so D sees what guidance feeds it
PAPER_DISCRIMINATOR: dict[str, Any] = {"width": 256, "height": 768, "lr": 3e-4, "epochs": 20, "batch_size": 32}
PAPER_EVALUATION: dict[str, Any] = {"flip": True, "refinement": {"enabled": True, "views": 4, "top_k": 5}}

_MODELS = {
    "descriptions": (DescriptionsParams, PAPER_DESCRIPTIONS),
    "prompts": (PromptsParams, PAPER_PROMPTS),
    "masks": (MasksParams, PAPER_MASKS),
    "generation": (GenerationParams, PAPER_GENERATION),
    "discriminator": (DiscriminatorParams, PAPER_DISCRIMINATOR),
    "training": (TrainingParams, PAPER_TRAINING),
    "evaluation": (EvaluationParams, PAPER_EVALUATION),
}


def _demo_values(model: type, keys: dict[str, Any]) -> dict[str, Any]:
    """The demo value set: the model's own defaults (the CPU demo) for the keys the paper sets."""
    defaults = model().model_dump(mode="json")
    return {key: defaults[key] if not isinstance(value, dict) else {k: defaults[key][k] for k in value}
            for key, value in keys.items()}


SECTION_PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    section: {"demo": _demo_values(model, paper), "paper": paper} for section, (model, paper) in _MODELS.items()
}
SECTION_PROFILES["generation"]["fast"] = FAST_GENERATION
# the demo's one departure from the model defaults: its step floor (library callers get epochs as written)
SECTION_PROFILES["training"]["demo"]["min_steps"] = DEMO_MIN_STEPS

# top-level profile -> the value set each section takes
PROFILES: dict[str, dict[str, str]] = {
    "demo": {section: "demo" for section in SECTION_PROFILES},
    "paper": {section: "paper" for section in SECTION_PROFILES},
    "fast": {**{section: "paper" for section in SECTION_PROFILES}, "generation": "fast"},
}


def profile_layer(name: str, source: str = "params") -> dict[str, dict[str, Any]]:
    """The section defaults of profile ``name`` (a fresh copy), or an error naming the allowed names."""
    from dlcr_assets.params.errors import ParamsError

    if name not in PROFILES:
        raise ParamsError(f"{source}: profile: unknown profile {name!r}; allowed: {', '.join(sorted(PROFILES))}")
    return {section: copy.deepcopy(SECTION_PROFILES[section][choice]) for section, choice in PROFILES[name].items()}
