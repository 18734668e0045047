"""Stable hashes for seeds, outfit draws and shard assignment (never Python's salted hash())."""
from __future__ import annotations

import hashlib

INT63 = (1 << 63) - 1


def stable_int(*parts: object) -> int:
    """A non-negative int63 from the parts' text, identical on every machine and Python run."""
    text = "\x1f".join(map(str, parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") & INT63


def image_seed(dataset: str, source_key: str, variant: int, base_seed: int = 0) -> int:
    """The diffusion seed of one generated image: a function of (dataset, image, variant) only."""
    return stable_int("seed", dataset, source_key, variant, base_seed)


def shard_of(source_key: str, num_shards: int) -> int:
    """Which of ``num_shards`` shards owns a source image (all its variants go together)."""
    return stable_int("shard", source_key) % num_shards


def pass_seed(params) -> int:
    """The base seed of a pass (GenerationParams): ``seed``, or the guided pass's own stream when
    discriminator guidance is on (seeds stay per (image, variant); outfit draws keep ``seed``)."""
    guidance = params.discriminator_guidance
    if not guidance.enabled:
        return params.seed
    from dlcr_assets.discriminator.guidance import guided_base_seed  # late: torch only for a guided pass

    return guided_base_seed(params.seed, guidance)
