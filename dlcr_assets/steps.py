"""One call per pipeline step: what the `dlcr` commands (so DVC) and the Dagster assets both call.

Each function takes the loaded params and a dataset name (+ shard / mode / device), resolves every
argument in one place (paths from ``DatasetPaths``, the dataset's root and format, the shard),
calls the step's library function and writes its files. A command and an asset therefore hand
the library the same arguments; they differ only in what they print or record.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.layout import BEST_CHECKPOINT, MODES, DatasetPaths, resolve_dataset


@dataclass
class StepRun:
    """What a step wrote: its main table (or result), the dataset's layout, and extras for reporting."""

    result: Any
    paths: DatasetPaths
    extra: dict[str, Any]


# --- validation at the door --------------------------------------------------------------------

def layout(params, dataset: str) -> DatasetPaths:
    """The dataset's path layout; a bad name is a StepInputError naming the allowed characters."""
    try:
        return DatasetPaths(params.data_dir, dataset)
    except ValueError as error:
        raise StepInputError(f"dataset: {error}") from None


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise StepInputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


def parse_shard(text: str | None, shards: int) -> tuple[int, int]:
    """``"k/n"`` -> (k, n); empty -> shard 0 of ``shards`` (params' generation.shards)."""
    if not text:
        return check_shard(0, shards)
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise StepInputError(f"shard {text!r}: expected k/n with 0 <= k < n, e.g. 0/4") from None
    return check_shard(k, n)


def check_shard(k: int, n: int) -> tuple[int, int]:
    if not 0 <= k < n:
        raise StepInputError(f"shard {k}/{n}: expected k/n with 0 <= k < n (generation.shards), e.g. 0/4")
    return (k, n)


# --- the facts each step needs, resolved once ----------------------------------------------------

def dataset_spec(params, dataset: str):
    """The DatasetSpec (params.yaml, else a watched folder), or None for a dataset indexed by --root."""
    try:
        return resolve_dataset(params, dataset)
    except KeyError:
        return None


def dataset_format(params, dataset: str) -> str | None:
    """params.yaml's format, else the detected one; None lets evaluation infer it from the index."""
    spec = dataset_spec(params, dataset)
    return None if spec is None else spec.format


def dataset_root(params, dataset: str) -> Path | None:
    """The dataset's registered (or watched) root; a parsing_root's mirrored paths are relative to it."""
    spec = dataset_spec(params, dataset)
    return None if spec is None else Path(spec.root)


def _load(path: Path, what: str, command: str) -> pd.DataFrame:
    from dlcr_reid.io import load_table

    return load_table(path, f"{what} (`dlcr {command}`)")


# --- the steps (each named as its Dagster asset, DVC stage and `dlcr` command) -------------------

def synthetic_dataset(params, root: Path | None = None, seed: int | None = None) -> dict:
    """Draw the embedded synthetic dataset (synthetic section; ``root``/``seed`` override it) -> its summary."""
    from dlcr_reid.datasets import write_synthetic_dataset

    section = params.synthetic
    changes = {key: value for key, value in (("root", root), ("seed", seed)) if value is not None}
    return write_synthetic_dataset(section.model_copy(update=changes) if changes else section)


def dataset_index(params, dataset: str, spec=None) -> StepRun:
    """Index the dataset (names only) -> index table. ``spec`` is given for an unregistered --root."""
    from dlcr_reid.datasets import index_dataset
    from dlcr_reid.io import save_table

    paths = layout(params, dataset)
    if spec is None:  # params.yaml, else a watched folder; a KeyError naming both otherwise
        spec = resolve_dataset(params, dataset)
    table = index_dataset(dataset, spec)
    save_table(table, paths.dataset_index)
    return StepRun(table, paths, {"spec": spec})


def clothing_descriptions(params, dataset: str, device: str = "auto") -> StepRun:
    """Descriptions; parsing maps under descriptions.parsing_root are looked up relative to the dataset's root."""
    from dlcr_assets.descriptions import describe_clothing
    from dlcr_reid.io import save_table

    paths = layout(params, dataset)
    # rows of the last run whose fingerprint still matches are kept (a missing table: none)
    table = describe_clothing(_load(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index"), params.descriptions,
                              device=device, previous=paths.clothing_descriptions,
                              dataset_root=dataset_root(params, dataset))
    save_table(table, paths.clothing_descriptions)
    return StepRun(table, paths, {})


def clothing_prompts(params, dataset: str, device: str = "auto") -> StepRun:
    from dlcr_assets.prompts import build_prompt_table
    from dlcr_reid.io import save_table

    paths = layout(params, dataset)
    table = build_prompt_table(_load(paths.clothing_descriptions, f"descriptions of dataset {dataset!r}", "clothing-descriptions"),
                               params.prompts, device=device, previous=paths.clothing_prompts)
    save_table(table, paths.clothing_prompts)
    return StepRun(table, paths, {})


def clothing_masks(params, dataset: str, device: str = "auto") -> StepRun:
    """Clothes masks; parsing maps are looked up relative to the dataset's root when it is known."""
    from dlcr_assets.masks import make_clothing_masks
    from dlcr_reid.io import save_table

    paths = layout(params, dataset)
    table = make_clothing_masks(_load(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index"), params.masks,
                                paths.clothing_masks_dir, device=device, dataset_root=dataset_root(params, dataset),
                                previous=paths.clothing_masks)
    save_table(table, paths.clothing_masks)
    return StepRun(table, paths, {})


def _generation_inputs(paths: DatasetPaths, dataset: str) -> list[pd.DataFrame]:
    return [_load(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index"),
            _load(paths.clothing_masks, f"masks of dataset {dataset!r}", "clothing-masks"),
            _load(paths.clothing_prompts, f"prompts of dataset {dataset!r}", "clothing-prompts")]


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
    index = _load(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index")
    manifest = _load(paths.generated_images, f"generation manifest of dataset {dataset!r}", "generated-images")
    masks = _load(paths.clothing_masks, f"masks of dataset {dataset!r}", "clothing-masks")
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
    index = _load(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index")
    masks = _load(paths.clothing_masks, f"masks of dataset {dataset!r}", "clothing-masks")
    manifest = scored_manifest({
        "generated_images": _load(paths.generated_images, f"generation manifest of dataset {dataset!r}", "generated-images"),
        # the guided pass only when it ran (with guidance off DVC leaves it empty, Dagster never writes it)
        "guided_images": _load(paths.guided_images, "guided manifest", "guided-images") if paths.guided_images.is_file() else None,
        "query_variants": _load(paths.query_variants, f"query variants of dataset {dataset!r}", "query-variants"),
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


def _kept(params, paths: DatasetPaths, manifest: pd.DataFrame, what: str) -> tuple[pd.DataFrame, dict | None]:
    """With quality.filter: ``manifest``'s variants the quality table keeps, and the counts; else as it is."""
    if not params.quality.filter:
        return manifest, None
    from dlcr_assets.quality.filtering import kept_rows
    from dlcr_assets.quality.score import DIGEST_CACHE

    quality = _load(paths.generation_quality, f"quality table of dataset {paths.name!r} (quality.filter is on)",
                    "generation-quality")
    masks = _load(paths.clothing_masks, f"masks of dataset {paths.name!r}", "clothing-masks")
    # scores of an image regenerated since (same path, new content) do not count: it is left out as stale
    return kept_rows(manifest, quality, what, masks, paths.generation_quality_dir / "features" / DIGEST_CACHE)


def reid_checkpoint(params, dataset: str, mode: str, device: str = "auto", resume: bool = False,
             run_tags: dict[str, str] | None = None) -> StepRun:
    """Train ``mode`` (baseline: real images; dlcr: + the expansion) -> the checkpoint folder.

    The expansion is the guided pass's when generation.discriminator_guidance.enabled, else the first pass;
    with quality.filter only its kept variants (generation_quality), recorded on the MLflow run. The index
    and manifest are the run's MLflow dataset inputs; the selected checkpoint is registered as a new
    version of dlcr-<dataset>-<mode> (``extra["model_version"]``; None when not registered).
    """
    from dlcr_reid.training import train_reid

    paths = layout(params, dataset)
    check_mode(mode)
    index = _load(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index")
    manifest = filtered = None
    if mode == "dlcr":
        from dlcr_assets.generation import merge_manifest

        is_guided = params.generation.discriminator_guidance.enabled
        folder, path = paths.expansion(is_guided)
        manifest = _load(path, f"{'guided ' if is_guided else ''}generation manifest of dataset {dataset!r}",
                         "guided-images" if is_guided else "generated-images")
        if int(os.environ.get("RANK", "0")) == 0:  # under torchrun one process writes
            # re-merge: shards that finished side by side may each have merged before the other
            manifest = merge_manifest(folder, path)
        manifest, filtered = _kept(params, paths, manifest, f"DLCR training of {dataset}")
    sources = {"index": str(paths.dataset_index.resolve())}
    if manifest is not None:
        sources["manifest"] = str(path.resolve())
    result = train_reid(index, manifest, params.training, params.evaluation, params.tracking,
                        paths.reid_checkpoint(mode), mode, resume=resume, device=device, run_tags=run_tags,
                        dataset_format=dataset_format(params, dataset), data_sources=sources)
    version = None
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun one process records
        if mode == "dlcr" and filtered is not None:
            from dlcr_assets.quality.filtering import record_filter

            record_filter(params.tracking, result.mlflow_run_id, filtered,
                          params.quality.checkpoint or paths.best_checkpoint("baseline"))
        if params.tracking.register_model:
            from dlcr_reid.registry import model_name, register_checkpoint

            folder = paths.reid_checkpoint(mode)
            version = register_checkpoint(params.tracking, result.mlflow_run_id, folder / "best.safetensors",
                                          folder / "config.json", model_name(dataset, mode),
                                          {"dataset": dataset, "mode": mode,
                                           "selection": str(result.selection.get("rule")),
                                           "selected_epoch": str(result.selection.get("epoch"))})
    return StepRun(result, paths, {"manifest": manifest, "quality": filtered if mode == "dlcr" else None,
                                   "model_version": version})


def evaluation_reports(params, dataset: str, mode: str, device: str = "auto", refine: bool | None = None,
               checkpoint: Path | None = None) -> StepRun:
    """Score ``mode``'s checkpoint on the dataset's protocols -> evaluation_reports/<dataset>/<mode>.{json,md,-cmc.png}.

    ``refine`` None keeps evaluation.refinement.enabled; refinement needs the query variants (with
    quality.filter only the kept ones). The registered version holding the checkpoint is tagged with
    its (unrefined) CC top-1 and becomes ``champion`` of dlcr-<dataset>-<mode> when it beats the
    current one (``extra["champion"]``).
    """
    from dlcr_reid.evaluation import evaluate_checkpoint

    paths = layout(params, dataset)
    check_mode(mode)
    section = params.evaluation
    if refine is not None:
        section = section.model_copy(update={"refinement": section.refinement.model_copy(update={"enabled": refine})})
    index = _load(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index")
    variants = None
    if section.refinement.enabled and paths.query_variants.is_file():
        variants = _load(paths.query_variants, "query variants", "query-variants")
        variants, _ = _kept(params, paths, variants, f"refinement of {dataset}")
    checkpoint = checkpoint or paths.best_checkpoint(mode)
    report = evaluate_checkpoint(checkpoint, index, section, paths.evaluation_reports_dir, variants,
                                 device, name=mode, dataset_format_name=dataset_format(params, dataset))
    champion = None
    if params.tracking.register_model:  # the registered version of this checkpoint takes `champion` if it is better
        from dlcr_reid.registry import model_name, promote

        champion = promote(params.tracking, model_name(dataset, mode), checkpoint, report)
    return StepRun(report, paths, {"refined": variants is not None, "variants": variants, "champion": champion})


def comparison_report(params, dataset: str, stage_seconds: dict[str, float] | None = None) -> StepRun:
    """Baseline vs DLCR vs DLCR + refinement -> comparison_report/<dataset>/comparison.{md,json,png}, samples.png."""
    import json

    from dlcr_assets.report import write_comparison_report

    paths = layout(params, dataset)
    reports = {}
    for mode in MODES:
        path = paths.evaluation_report(mode)["json"]
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; run `dlcr evaluation-reports --dataset {dataset} --mode {mode}` first")
        reports[mode] = json.loads(path.read_text())
    manifest = pd.read_parquet(paths.generated_images) if paths.generated_images.is_file() else None
    summary = write_comparison_report(dataset, reports["baseline"], reports["dlcr"], paths.comparison_report_dir, manifest,
                                      stage_seconds)
    return StepRun(summary, paths, {"manifest": manifest})
