"""The generation engine: clothes-changed variants of every training image, resumable and shardable.

For each training image with an ``ok`` mask, ``variants_per_image`` target outfits are drawn from the
prompt pool (never the image's own outfit), each inpainted with a seed that depends only on
(dataset, image, variant, generation.seed), and pasted inside the mask: every pixel outside the mask
keeps the source value. Outputs: ``<out_dir>/<split>/<rel>_v<NN>.png`` plus manifest rows.

Scale: ``shard=(k, n)`` takes the images whose stable hash falls in shard k; a re-run skips images
that the manifest lists as ok and that are on disk (an image on disk without its row, left by a
kill between the rename and the manifest flush, is adopted: the plan is deterministic). Images are
written to ``.<name>.tmp`` then renamed; rows are appended in part files after their images exist.
A reader thread prefetches inputs and a writer pool composites and saves, so the model never waits
for disk.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from dlcr_assets.errors import GenerationInputError
from dlcr_assets.generation.manifest import PartWriter, merge_manifest, ok_manifest_paths
from dlcr_assets.generation.seeds import image_seed, shard_of, stable_int
from dlcr_assets.inpainting.base import InpaintJob, Inpainter
from dlcr_assets.masks.naming import relative_keys
from dlcr_assets.params.generation import GenerationParams
from dlcr_reid.datasets.table import QUERY_SPLITS

log = logging.getLogger(__name__)



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


# ---------------------------------------------------------------- planning

def outfit_pool(prompts: pd.DataFrame, pool: str) -> pd.DataFrame:
    """The target outfits (one row per outfit_key, sorted), or GenerationInputError when empty."""
    table = prompts if pool == "dataset+novel" else prompts[prompts["source"] == "dataset"]
    table = table[table["prompt"].fillna("").str.strip() != ""]
    table = table.drop_duplicates("outfit_key").sort_values("outfit_key").reset_index(drop=True)
    if table.empty:
        raise GenerationInputError(
            f"the prompt pool is empty (generation.pool: {pool}, {len(prompts)} rows in the prompts table); "
            "run `dlcr prompts` first, or use pool: dataset+novel with novel outfits enabled"
        )
    return table


def own_outfit_key(pid, clothes_id) -> str:
    return f"{int(pid)}_{int(clothes_id)}"


def _dataset_name(index: pd.DataFrame, dataset: str | None) -> str:
    if dataset:
        return dataset
    if "dataset" in index.columns and len(index):
        return str(index["dataset"].iloc[0])
    return "dataset"


def _ok_masks(masks: pd.DataFrame) -> pd.DataFrame:
    return masks.drop_duplicates("path", keep="last").set_index("path")


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
    mask_table = _ok_masks(masks)
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
    for source, pid, clothes_id, key in zip(train["path"].astype(str), train["pid"], train["clothes_id"], keys):
        if source not in mask_paths or (shard[1] > 1 and shard_of(key, shard[1]) != shard[0]):
            continue
        own = own_outfit_key(pid, clothes_id)
        candidates = candidates_of.get(own)
        if candidates is None:
            candidates = candidates_of[own] = np.delete(every_outfit, own_rows.get(own, []))
        if candidates.size == 0:
            raise GenerationInputError(
                f"no target outfit for {source}: the prompt pool ({len(pool_keys)} outfit(s), pool: {params.pool}) "
                f"holds only the image's own outfit {own}; a dataset with one outfit needs novel outfits "
                "(generation.pool: dataset+novel and novel outfits in the prompts step)"
            )
        # a permutation cycled to length N: every other outfit is used once before any repeats
        rng = np.random.default_rng(stable_int("outfits", dataset, key, params.seed))
        chosen = np.resize(rng.permutation(candidates), params.variants_per_image)
        parsing_path = _none_if_na(parsing_paths.get(source))
        for variant, pool_row in enumerate(chosen.tolist()):
            plan.append(PlannedImage(
                source_path=source, key=key, variant=variant, outfit_key=str(pool_keys[pool_row]),
                prompt=str(pool_prompts[pool_row]), seed=image_seed(dataset, key, variant, params.seed),
                path=f"{out_prefix}{key}_v{variant:02d}.png", mask_path=mask_paths[source],
                parsing_path=parsing_path,
            ))
    return plan


def _none_if_na(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA else str(value)


# ---------------------------------------------------------------- resume

def _tmp_path(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.tmp")


def split_done(plan: list[PlannedImage], out_dir: Path, manifest_path: Path) -> tuple[list[PlannedImage], list[PlannedImage]]:
    """(pending, adopted): pending still need generating; adopted are on disk but missing from the manifest.

    Also deletes this plan's leftover temp files (a killed run's half-written images).
    """
    ok_paths = ok_manifest_paths(out_dir, manifest_path)
    on_disk: set[str] = set()
    for folder in {job.path[:job.path.rfind(os.sep)] for job in plan}:
        try:
            with os.scandir(folder) as entries:
                on_disk.update(os.path.join(folder, entry.name) for entry in entries)
        except FileNotFoundError:
            pass
    leftovers = {name for name in on_disk if name.endswith(".tmp")}
    pending, adopted = [], []
    for job in plan:
        if job.path in on_disk:
            if job.path not in ok_paths:
                adopted.append(job)
            continue
        if leftovers and _tmp_path(job.path) in leftovers:
            os.remove(_tmp_path(job.path))
        pending.append(job)
    return pending, adopted


# ---------------------------------------------------------------- running

def _row(job: PlannedImage, dataset: str, inpainter: Inpainter, status: str, error: str | None) -> dict:
    return {"dataset": dataset, "source_path": job.source_path, "variant": job.variant, "outfit_key": job.outfit_key,
            "prompt": job.prompt, "seed": job.seed, "backend": inpainter.backend, "model_id": inpainter.model_id,
            "path": job.path, "status": status, "error": error}


def _load_inputs(jobs: list[PlannedImage], with_labels: bool) -> list[InpaintJob | str]:
    """An InpaintJob per planned image, or the error text when its inputs cannot be read."""
    cache: dict[str, InpaintJob | str] = {}
    loaded: list[InpaintJob | str] = []
    for job in jobs:
        if job.source_path not in cache:  # the variants of one image share their inputs
            try:
                if job.mask_status != "ok":
                    raise ValueError(f"mask status is {job.mask_status}")
                with Image.open(job.source_path) as image:
                    source = image.convert("RGB")
                with Image.open(job.mask_path) as mask_file:
                    mask = mask_file.convert("L")
                if mask.size != source.size:
                    raise ValueError(f"mask {job.mask_path} is {mask.size}, image is {source.size}")
                labels = None
                if with_labels and job.parsing_path:
                    with Image.open(job.parsing_path) as label_file:
                        labels = np.asarray(label_file, dtype=np.uint8)
                cache[job.source_path] = InpaintJob(image=source, mask=mask, prompt="", seed=0, label_map=labels)
            except Exception as error:
                cache[job.source_path] = f"{type(error).__name__}: {error}"
        base = cache[job.source_path]
        loaded.append(base if isinstance(base, str) else InpaintJob(
            image=base.image, mask=base.mask, prompt=job.prompt, seed=job.seed, label_map=base.label_map))
    return loaded


def composite_and_save(source: Image.Image, mask: Image.Image, generated: Image.Image, path: str) -> None:
    """Paste ``generated`` inside the mask (outside pixels stay the source's), write atomically."""
    source_pixels = np.asarray(source)
    if generated.size != source.size:
        generated = generated.resize(source.size, Image.BICUBIC)
    inside = np.asarray(mask)[..., None] > 127
    pixels = np.where(inside, np.asarray(generated.convert("RGB")), source_pixels)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = _tmp_path(path)
    Image.fromarray(pixels).save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, path)


def run_plan(pending: list[PlannedImage], inpainter: Inpainter, params: GenerationParams, writer: PartWriter,
             dataset: str, desc: str = "generate") -> dict:
    """Generate the pending images; rows reach the manifest parts only after their files exist."""
    batch_size = params.batch_size
    batches = [pending[i:i + batch_size] for i in range(0, len(pending), batch_size)]
    with_labels = inpainter.backend != "diffusers"
    ready: queue.Queue = queue.Queue(maxsize=params.prefetch)
    stop = threading.Event()

    def hand_over(item) -> bool:
        # a bounded put that gives up once the main thread stops (so a crash never strands this thread)
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read_ahead() -> None:
        try:
            for batch in batches:
                if not hand_over((batch, _load_inputs(batch, with_labels))):
                    return
        except BaseException as error:  # surface reader bugs in the main thread
            hand_over(error)
            return
        hand_over(None)

    reader = threading.Thread(target=read_ahead, name="generation-reader", daemon=True)
    reader.start()
    in_flight: list[tuple[PlannedImage, Future]] = []
    counts = {"ok": 0, "failed": 0}
    bar = tqdm(total=len(pending), desc=desc, unit="img", smoothing=0.1)

    def collect(wait_all: bool) -> None:
        still: list[tuple[PlannedImage, Future]] = []
        finished = []
        for job, future in in_flight:
            if wait_all or future.done():
                try:
                    future.result()
                    finished.append(_row(job, dataset, inpainter, "ok", None))
                except Exception as error:
                    finished.append(_row(job, dataset, inpainter, "failed", f"{type(error).__name__}: {error}"))
            else:
                still.append((job, future))
        in_flight[:] = still
        for row in finished:
            counts[row["status"]] += 1
        writer.add(finished)
        bar.update(len(finished))

    with ThreadPoolExecutor(max_workers=params.num_workers, thread_name_prefix="generation-writer") as pool:
        try:
            while True:
                item = ready.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                batch, loaded = item
                failed = [(job, inputs) for job, inputs in zip(batch, loaded) if isinstance(inputs, str)]
                good = [(job, inputs) for job, inputs in zip(batch, loaded) if not isinstance(inputs, str)]
                rows = [_row(job, dataset, inpainter, "failed", error) for job, error in failed]
                counts["failed"] += len(rows)
                writer.add(rows)
                bar.update(len(rows))
                if good:
                    outputs = inpainter.inpaint([inputs for _, inputs in good])
                    for (job, inputs), output in zip(good, outputs):
                        in_flight.append((job, pool.submit(composite_and_save, inputs.image, inputs.mask, output, job.path)))
                collect(wait_all=False)
                writer.flush_if_due()
        finally:
            # whatever happened, finished images get their rows: a crash loses no finished work
            stop.set()
            collect(wait_all=True)
            writer.flush()
            bar.close()
            reader.join(timeout=5)
    return {**counts, "images_per_s": bar.format_dict.get("rate")}


def _write_adopted(adopted: list[PlannedImage], inpainter: Inpainter, writer: PartWriter, dataset: str) -> None:
    if adopted:
        log.info("adopting %d images already on disk but missing from the manifest", len(adopted))
        writer.add([_row(job, dataset, inpainter, "ok", None) for job in adopted])
        writer.flush()


def generate_images(index: pd.DataFrame, masks: pd.DataFrame, prompts: pd.DataFrame, params: GenerationParams,
                    out_dir: Path, manifest_path: Path, shard: tuple[int, int] = (0, 1), device: str = "auto",
                    dataset: str | None = None, inpainter: Inpainter | None = None) -> pd.DataFrame:
    """Generate this shard's variants of the training images; returns the merged manifest (all shards so far).

    ``inpainter`` overrides ``load_inpainter(params, device)`` (tests and benchmarks pass one in).
    """
    k, n = shard
    if not (0 <= k < n):
        raise GenerationInputError(f"shard {k}/{n} is out of range: k must satisfy 0 <= k < n")
    dataset = _dataset_name(index, dataset)
    out_dir, manifest_path = Path(out_dir), Path(manifest_path)
    plan = plan_generation(index, masks, prompts, params, out_dir, dataset, shard)
    if inpainter is None:  # loaded before any image is touched: an unloadable id fails here
        from dlcr_assets.inpainting import load_inpainter

        inpainter = load_inpainter(params, device)
    pending, adopted = split_done(plan, out_dir, manifest_path)
    writer = PartWriter(out_dir, shard)
    _write_adopted(adopted, inpainter, writer, dataset)
    log.info("generate %s shard %d/%d: %d planned, %d to do", dataset, k, n, len(plan), len(pending))
    stats = run_plan(pending, inpainter, params, writer, dataset, desc=f"generate {dataset} [{k}/{n}]")
    writer.compact()
    manifest = merge_manifest(out_dir, manifest_path)
    manifest.attrs["run"] = {"planned": len(plan), "generated": stats["ok"], "failed": stats["failed"],
                             "skipped": len(plan) - len(pending), "images_per_s": stats["images_per_s"]}
    return manifest


# ---------------------------------------------------------------- query variants

def choose_query_outfits(prompts: pd.DataFrame, params: GenerationParams, dataset: str) -> pd.DataFrame:
    """The K outfits every query is repainted with (chosen once per dataset, seeded)."""
    pool = outfit_pool(prompts, params.pool)
    rng = np.random.default_rng(stable_int("query-outfits", dataset, params.seed))
    order = np.resize(rng.permutation(len(pool)), params.query_variants)
    return pool.iloc[order].reset_index(drop=True)


def generate_query_variants(index: pd.DataFrame, masks: pd.DataFrame, prompts: pd.DataFrame, params: GenerationParams,
                            out_dir: Path, manifest_path: Path, device: str = "auto", dataset: str | None = None,
                            inpainter: Inpainter | None = None) -> pd.DataFrame:
    """K = ``query_variants`` views of every query image, all with the same K outfits (SPEC §1.7).

    Queries whose mask is not ok get failed rows saying so (evaluation then uses the views it has).
    """
    dataset = _dataset_name(index, dataset)
    out_dir, manifest_path = Path(out_dir), Path(manifest_path)
    outfits = choose_query_outfits(prompts, params, dataset)
    queries = index[index["split"].isin(QUERY_SPLITS)]
    if queries.empty:
        raise GenerationInputError(f"dataset {dataset} has no query images (splits {QUERY_SPLITS})")
    mask_table = _ok_masks(masks)
    resolved = Path(out_dir).resolve()
    plan: list[PlannedImage] = []
    for (_, row), key in zip(queries.iterrows(), relative_keys(queries)):
        source = str(row["path"])
        known = source in mask_table.index
        for variant, outfit in outfits.iterrows():
            plan.append(PlannedImage(
                source_path=source, key=key, variant=int(variant), outfit_key=str(outfit["outfit_key"]),
                prompt=str(outfit["prompt"]), seed=image_seed(dataset, key, int(variant), params.seed),
                path=str(resolved / f"{key}_v{int(variant):02d}.png"),
                mask_path=mask_table.at[source, "mask_path"] if known else None,
                parsing_path=_none_if_na(mask_table.at[source, "parsing_path"]) if known else None,
                mask_status=str(mask_table.at[source, "status"]) if known else "missing (run dlcr masks)",
            ))
    if inpainter is None:
        from dlcr_assets.inpainting import load_inpainter

        inpainter = load_inpainter(params, device)
    pending, adopted = split_done(plan, out_dir, manifest_path)
    writer = PartWriter(out_dir, (0, 1))
    _write_adopted(adopted, inpainter, writer, dataset)
    stats = run_plan(pending, inpainter, params, writer, dataset, desc=f"query variants {dataset}")
    writer.compact()
    manifest = merge_manifest(out_dir, manifest_path)
    manifest.attrs["run"] = {"planned": len(plan), "generated": stats["ok"], "failed": stats["failed"],
                             "skipped": len(plan) - len(pending), "images_per_s": stats["images_per_s"]}
    return manifest


__all__ = ["generate_images", "generate_query_variants", "plan_generation", "choose_query_outfits",
           "composite_and_save", "PlannedImage", "split_done"]
