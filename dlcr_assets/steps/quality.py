"""The quality step: every generated image scored, and the kept variants the filter hands on."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.layout import BEST_CHECKPOINT, DatasetPaths
from dlcr_assets.steps.common import StepRun, layout, load_input


def reference_checkpoint(params, paths: DatasetPaths) -> Path:
    """quality.checkpoint, else the dataset's baseline best checkpoint; missing: a StepInputError saying how to make it."""
    checkpoint = Path(params.quality.checkpoint) if params.quality.checkpoint else paths.best_checkpoint("baseline")
    checkpoint = checkpoint / BEST_CHECKPOINT if checkpoint.is_dir() else checkpoint  # a training folder
    weights = checkpoint if checkpoint.suffix == ".safetensors" else checkpoint.with_name(f"{checkpoint.stem}.safetensors")
    if not weights.is_file():
        how = ("set quality.checkpoint to an existing one" if params.quality.checkpoint else
               f"train it with `dlcr reid-checkpoint --dataset {paths.name} --mode baseline` or set quality.checkpoint")
        raise StepInputError(f"reference checkpoint {weights} not found (quality.checkpoint): {how}")
    return weights


def generation_quality(params, dataset: str, device: str = "auto") -> StepRun:
    """Every generated image (first pass, guided pass, query variants) scored against its source, kept or dropped.

    -> generation_quality/<name>.parquet and generation_quality/<name>/histograms/<score>.png. ReID
    features of the reference checkpoint are cached in generation_quality/<name>/features/ by its
    sha256, pixel scores by the fingerprint of their files' contents: a rerun scores only new or rewritten images.
    """
    from dlcr_assets.quality import score_generated_images
    from dlcr_assets.quality.filtering import scored_manifest, write_histograms

    paths = layout(params, dataset)
    checkpoint = reference_checkpoint(params, paths)
    index = load_input(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index")
    masks = load_input(paths.clothing_masks, f"masks of dataset {dataset!r}", "clothing-masks")
    manifest = scored_manifest({
        "generated_images": load_input(paths.generated_images, f"generation manifest of dataset {dataset!r}", "generated-images"),
        # the guided pass only when it ran (with guidance off DVC leaves it empty, Dagster never writes it)
        "guided_images": load_input(paths.guided_images, "guided manifest", "guided-images") if paths.guided_images.is_file() else None,
        "query_variants": load_input(paths.query_variants, f"query variants of dataset {dataset!r}", "query-variants"),
    })
    realism = None
    if params.quality.min_realism is not None:  # the discriminator's P(real), only when a floor asks for it
        from dlcr_assets.discriminator import load_scorer
        from dlcr_assets.quality.scorers import ManifestRealism

        if not (paths.discriminator_dir / "config.json").is_file():
            raise StepInputError(f"quality.min_realism needs a trained discriminator in {paths.discriminator_dir}: run "
                                 f"`dlcr discriminator --dataset {dataset}` or set quality.min_realism to null")
        realism = ManifestRealism(load_scorer(paths.discriminator_dir, device), manifest, masks, params.quality.batch_size)
    quality = score_generated_images(index, masks, manifest, checkpoint, params.quality, paths.generation_quality, device,
                                     cache_dir=paths.generation_quality_dir / "features", realism=realism)
    histograms = write_histograms(quality, paths.generation_quality_dir / "histograms")
    return StepRun(quality, paths, {"checkpoint": checkpoint, "histograms": histograms})


def kept_variants(params, paths: DatasetPaths, manifest: pd.DataFrame, what: str) -> tuple[pd.DataFrame, dict | None]:
    """With quality.filter: ``manifest``'s variants the quality table keeps, and the counts; else as it is."""
    if not params.quality.filter:
        return manifest, None
    from dlcr_assets.quality.filtering import kept_rows
    from dlcr_assets.quality.score import DIGEST_CACHE

    quality = load_input(paths.generation_quality, f"quality table of dataset {paths.name!r} (quality.filter is on)",
                    "generation-quality")
    masks = load_input(paths.clothing_masks, f"masks of dataset {paths.name!r}", "clothing-masks")
    # scores of an image regenerated since (same path, new content) do not count: it is left out as stale
    return kept_rows(manifest, quality, what, masks, paths.generation_quality_dir / "features" / DIGEST_CACHE)
