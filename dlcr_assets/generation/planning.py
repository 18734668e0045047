"""Generation planning: which images to make, with which outfit, prompt, seed and output path.

A plan is a sequence of ``PlannedImage`` (a list, or a ``ColumnarPlan`` read from the plan
cache), fully determined by the tables and params before any pixel is computed, so a caller can
build it once (``plan_generation`` / ``plan_query_variants``), hand it to the engine, and check the
engine's output against the same plan (``shard_rows``).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.generation.seeds import image_seed, pass_seed, shard_of, stable_int
from dlcr_assets.masks.naming import relative_keys
from dlcr_assets.params.generation import GenerationParams
from dlcr_reid.datasets.table import QUERY_SPLITS


@dataclass(slots=True)
class PlannedImage:
    """One image to generate, fully determined before any pixel is computed."""

    source_path: str
    key: str  # '<split>/<rel>' of the source image
    variant: int
    outfit_key: str
    prompt: str
    seed: int
    path: str
    mask_path: str | None
    parsing_path: str | None
    mask_status: str = "ok"
    # filled by the engine once the backend is loaded (it needs the model revision): see resume.py
    fingerprint: str | None = None


def outfit_pool(prompts: pd.DataFrame, pool: str) -> pd.DataFrame:
    """The target outfits (one row per outfit_key, sorted), or StepInputError when empty."""
    table = prompts if pool == "dataset+novel" else prompts[prompts["source"] == "dataset"]
    table = table[table["prompt"].fillna("").str.strip() != ""]
    table = table.drop_duplicates("outfit_key").sort_values("outfit_key").reset_index(drop=True)
    if table.empty:
        raise StepInputError(
            f"the prompt pool is empty (generation.pool: {pool}, {len(prompts)} rows in the prompts table); "
            "run `dlcr clothing-prompts` first, or use pool: dataset+novel with novel outfits enabled"
        )
    return table


def own_outfit_key(pid, clothes_id) -> str:
    return f"{int(pid)}_{int(clothes_id)}"


def dataset_name(index: pd.DataFrame, dataset: str | None) -> str:
    if dataset:
        return dataset
    if "dataset" in index.columns and len(index):
        return str(index["dataset"].iloc[0])
    return "dataset"


def mask_rows(masks: pd.DataFrame) -> pd.DataFrame:
    """The masks table indexed by source path (the last row of a path wins)."""
    return masks.drop_duplicates("path", keep="last").set_index("path")


def none_if_na(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA else str(value)


def plan_generation(index: pd.DataFrame, masks: pd.DataFrame, prompts: pd.DataFrame, params: GenerationParams,
                    out_dir: Path, dataset: str, shard: tuple[int, int] = (0, 1)) -> list[PlannedImage]:
    """Every (train image, variant) of this shard, with its outfit, prompt, seed and output path."""
    pool = outfit_pool(prompts, params.pool)
    pool_keys = pool["outfit_key"].astype(str).to_numpy()
    pool_prompts = pool["prompt"].astype(str).to_numpy()
    pool_own = [own_outfit_key(p, c) if pd.notna(p) and pd.notna(c) else None
                for p, c in zip(pool.get("pid", [None] * len(pool)), pool.get("clothes_id", [None] * len(pool)))]
    train = index[index["split"] == "train"]
    keys = relative_keys(train).tolist()
    mask_table = mask_rows(masks)
    mask_ok = mask_table["status"] == "ok"
    mask_paths = mask_table["mask_path"][mask_ok].to_dict()
    parsing_paths = mask_table["parsing_path"][mask_ok].to_dict() if "parsing_path" in mask_table else {}
    out_prefix = str(Path(out_dir).resolve()) + os.sep
    every_outfit = np.arange(len(pool_keys))
    own_rows: dict[str, list[int]] = {}  # outfit key -> pool rows that are that outfit
    for row, (key, own) in enumerate(zip(pool_keys, pool_own)):
        own_rows.setdefault(str(key), []).append(row)
        if own is not None and own != key:
            own_rows.setdefault(own, []).append(row)
    candidates_of: dict[str, np.ndarray] = {}
    plan: list[PlannedImage] = []
    base_seed = pass_seed(params)  # once: a guided pass hashes the discriminator's weights
    for source, pid, clothes_id, key in zip(train["path"].astype(str), train["pid"], train["clothes_id"], keys):
        if source not in mask_paths or (shard[1] > 1 and shard_of(key, shard[1]) != shard[0]):
            continue
        own = own_outfit_key(pid, clothes_id)
        candidates = candidates_of.get(own)
        if candidates is None:
            candidates = candidates_of[own] = np.delete(every_outfit, own_rows.get(own, []))
        if candidates.size == 0:
            raise StepInputError(
                f"no target outfit for {source}: the prompt pool ({len(pool_keys)} outfit(s), pool: {params.pool}) "
                f"holds only the image's own outfit {own}; a dataset with one outfit needs novel outfits "
                "(generation.pool: dataset+novel and novel outfits in the prompts step)"
            )
        # a permutation cycled to length N: every other outfit is used once before any repeats
        rng = np.random.default_rng(stable_int("outfits", dataset, key, params.seed))
        chosen = np.resize(rng.permutation(candidates), params.variants_per_image)
        parsing_path = none_if_na(parsing_paths.get(source))
        for variant, pool_row in enumerate(chosen.tolist()):
            plan.append(PlannedImage(
                source_path=source, key=key, variant=variant, outfit_key=str(pool_keys[pool_row]),
                prompt=str(pool_prompts[pool_row]), seed=image_seed(dataset, key, variant, base_seed),
                path=f"{out_prefix}{key}_v{variant:02d}.png", mask_path=mask_paths[source],
                parsing_path=parsing_path,
            ))
    return plan


def choose_query_outfits(prompts: pd.DataFrame, params: GenerationParams, dataset: str) -> pd.DataFrame:
    """The K outfits every query is repainted with (chosen once per dataset, seeded)."""
    pool = outfit_pool(prompts, params.pool)
    rng = np.random.default_rng(stable_int("query-outfits", dataset, params.seed))
    order = np.resize(rng.permutation(len(pool)), params.query_variants)
    return pool.iloc[order].reset_index(drop=True)


def plan_query_variants(index: pd.DataFrame, masks: pd.DataFrame, prompts: pd.DataFrame, params: GenerationParams,
                        out_dir: Path, dataset: str) -> list[PlannedImage]:
    """K = ``query_variants`` views of every query image, all with the same K outfits (SPEC §1.7).

    Queries whose mask is not ok are planned too, with that status: the engine writes failed rows
    saying so (evaluation then uses the views it has).
    """
    outfits = choose_query_outfits(prompts, params, dataset)
    queries = index[index["split"].isin(QUERY_SPLITS)]
    if queries.empty:
        raise StepInputError(f"dataset {dataset} has no query images (splits {QUERY_SPLITS})")
    mask_table = mask_rows(masks)
    resolved = Path(out_dir).resolve()
    plan: list[PlannedImage] = []
    base_seed = pass_seed(params)  # once: a guided pass hashes the discriminator's weights
    for (_, row), key in zip(queries.iterrows(), relative_keys(queries)):
        source = str(row["path"])
        known = source in mask_table.index
        for variant, outfit in outfits.iterrows():
            plan.append(PlannedImage(
                source_path=source, key=key, variant=int(variant), outfit_key=str(outfit["outfit_key"]),
                prompt=str(outfit["prompt"]), seed=image_seed(dataset, key, int(variant), base_seed),
                path=str(resolved / f"{key}_v{int(variant):02d}.png"),
                mask_path=mask_table.at[source, "mask_path"] if known else None,
                parsing_path=none_if_na(mask_table.at[source, "parsing_path"]) if known else None,
                mask_status=str(mask_table.at[source, "status"]) if known else "missing (run dlcr clothing-masks)",
            ))
    return plan


def shard_rows(manifest: pd.DataFrame, plan: Sequence[PlannedImage]) -> pd.DataFrame:
    """The manifest rows of one plan (the merged manifest holds every shard generated so far)."""
    from dlcr_assets.generation.columnar import plan_column  # columnar.py builds on this module

    wanted = set(zip(plan_column(plan, "source_path"), plan_column(plan, "variant")))
    keep = [(s, int(v)) in wanted for s, v in zip(manifest["source_path"], manifest["variant"])]
    return manifest[keep]


def check_plan_matches(plan: list[PlannedImage], out_dir: Path) -> None:
    """A plan handed in by a caller must write under ``out_dir`` (a plan for another folder is a mix-up)."""
    prefix = str(Path(out_dir).resolve()) + os.sep
    stray = next((job.path for job in plan if not job.path.startswith(prefix)), None)
    if stray is not None:
        raise StepInputError(f"the plan writes {stray}, outside the output folder {prefix}: "
                                   "build the plan with the same out_dir")
