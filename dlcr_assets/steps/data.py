"""The data steps: the embedded dataset, the index, clothing descriptions, prompts and masks."""
from __future__ import annotations

from pathlib import Path

from dlcr_assets.layout import resolve_dataset
from dlcr_assets.steps.common import StepRun, dataset_root, layout, load_input


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
    table = describe_clothing(load_input(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index"), params.descriptions,
                              device=device, previous=paths.clothing_descriptions,
                              dataset_root=dataset_root(params, dataset))
    save_table(table, paths.clothing_descriptions)
    return StepRun(table, paths, {})


def clothing_prompts(params, dataset: str, device: str = "auto") -> StepRun:
    from dlcr_assets.prompts import build_prompt_table
    from dlcr_reid.io import save_table

    paths = layout(params, dataset)
    table = build_prompt_table(load_input(paths.clothing_descriptions, f"descriptions of dataset {dataset!r}", "clothing-descriptions"),
                               params.prompts, device=device, previous=paths.clothing_prompts)
    save_table(table, paths.clothing_prompts)
    return StepRun(table, paths, {})


def clothing_masks(params, dataset: str, device: str = "auto") -> StepRun:
    """Clothes masks; parsing maps are looked up relative to the dataset's root when it is known."""
    from dlcr_assets.masks import make_clothing_masks
    from dlcr_reid.io import save_table

    paths = layout(params, dataset)
    table = make_clothing_masks(load_input(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index"), params.masks,
                                paths.clothing_masks_dir, device=device, dataset_root=dataset_root(params, dataset),
                                previous=paths.clothing_masks)
    save_table(table, paths.clothing_masks)
    return StepRun(table, paths, {})
