"""The generation steps: the first pass, the discriminator, the guided pass, the query variants."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.layout import DatasetPaths
from dlcr_assets.steps.common import StepRun, check_shard, layout, load_input


def _generation_inputs(paths: DatasetPaths, dataset: str) -> list[pd.DataFrame]:
    return [load_input(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index"),
            load_input(paths.clothing_masks, f"masks of dataset {dataset!r}", "clothing-masks"),
            load_input(paths.clothing_prompts, f"prompts of dataset {dataset!r}", "clothing-prompts")]


def unguided(generation):
    """The first pass's settings: guidance off, so `generation.discriminator_guidance` never reaches it."""
    off = generation.discriminator_guidance.model_copy(update={"enabled": False})
    return generation.model_copy(update={"discriminator_guidance": off})


def generated_images(params, dataset: str, shard: tuple[int, int] | None = None, device: str = "auto") -> StepRun:
    """One shard (default 0 of generation.shards) -> the merged manifest of all shards so far (the first pass)."""
    from dlcr_assets.generation import generate_images

    paths = layout(params, dataset)
    shard = check_shard(*(shard or (0, int(params.generation.shards))))
    manifest = generate_images(*_generation_inputs(paths, dataset), unguided(params.generation), paths.generated_images_dir,
                               paths.generated_images, shard=shard, device=device, dataset=dataset)
    return StepRun(manifest, paths, {"shard": shard})


def guided(params, paths: DatasetPaths):
    """generation with discriminator_guidance.path filled in (null: the dataset's `dlcr discriminator` folder)."""
    guidance = params.generation.discriminator_guidance
    if guidance.enabled and not guidance.path:
        guidance = guidance.model_copy(update={"path": str(paths.discriminator_dir)})
    return params.generation.model_copy(update={"discriminator_guidance": guidance})


def _skipped(folder: Path, what: str) -> None:
    """Guidance off under DVC (``--when-guided``): a note, so the stage has its outs and costs nothing."""
    import json

    from dlcr_reid.io import atomic_write

    with atomic_write(folder / "skipped.json") as tmp:
        tmp.write_text(json.dumps({"skipped": f"{what}: generation.discriminator_guidance.enabled is false"}) + "\n")


def discriminator(params, dataset: str, device: str = "auto", when_guided: bool = False) -> StepRun:
    """Real training images vs their first-pass generations -> data/discriminator/<name>/ (weights + config).

    The latents come from generation.model_id's VAE and scheduler, the pipeline guidance then steers.
    ``when_guided`` (DVC): with guidance off, write only a note and train nothing.
    """
    from dlcr_reid.device import resolve_device

    paths = layout(params, dataset)
    if when_guided and not params.generation.discriminator_guidance.enabled:
        _skipped(paths.discriminator_dir, "discriminator")
        return StepRun(None, paths, {"skipped": True})
    from dlcr_assets.discriminator import train_discriminator

    (paths.discriminator_dir / "skipped.json").unlink(missing_ok=True)  # a note from when guidance was off
    index = load_input(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index")
    manifest = load_input(paths.generated_images, f"generation manifest of dataset {dataset!r}", "generated-images")
    masks = load_input(paths.clothing_masks, f"masks of dataset {dataset!r}", "clothing-masks")
    result = train_discriminator(index, manifest, params.generation.model_id, params.discriminator,
                                 paths.discriminator_dir, resolve_device(device), masks=masks,
                                 tracking=params.tracking, run_name=f"discriminator-{dataset}")
    return StepRun(result, paths, {"skipped": False})


def guided_images(params, dataset: str, shard: tuple[int, int] | None = None, device: str = "auto",
                      when_guided: bool = False) -> StepRun:
    """The guided pass (SPEC §1.5): its own seeds and fingerprint -> data/guided_images/<name>/ + .parquet.

    The first pass is never touched. ``when_guided`` (DVC): with guidance off, write an empty
    manifest and a note instead of the StepInputError a direct call gets.
    """
    from dlcr_assets.generation import generate_images
    from dlcr_assets.generation.manifest import empty_manifest
    from dlcr_reid.io import save_table

    paths = layout(params, dataset)
    shard = check_shard(*(shard or (0, int(params.generation.shards))))
    if not params.generation.discriminator_guidance.enabled:
        if not when_guided:
            raise StepInputError("generation.discriminator_guidance.enabled is false: the guided pass needs it on, e.g. "
                                 f"`dlcr --set generation.discriminator_guidance.enabled=true guided-images --dataset {dataset}`")
        _skipped(paths.guided_images_dir, "guided generation")
        save_table(empty_manifest(), paths.guided_images)
        return StepRun(empty_manifest(), paths, {"shard": shard, "skipped": True})
    (paths.guided_images_dir / "skipped.json").unlink(missing_ok=True)
    manifest = generate_images(*_generation_inputs(paths, dataset), guided(params, paths), paths.guided_images_dir,
                               paths.guided_images, shard=shard, device=device, dataset=dataset)
    return StepRun(manifest, paths, {"shard": shard, "skipped": False})


def query_variants(params, dataset: str, device: str = "auto") -> StepRun:
    from dlcr_assets.generation import generate_query_variants

    paths = layout(params, dataset)
    manifest = generate_query_variants(*_generation_inputs(paths, dataset), unguided(params.generation),
                                       paths.query_variants_dir, paths.query_variants, device=device, dataset=dataset)
    return StepRun(manifest, paths, {})
