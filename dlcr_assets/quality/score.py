"""The generation_quality step: every generated image scored against its source, kept or dropped.

``score_generated_images`` writes ``data/generation_quality/<name>.parquet`` (one row per ok manifest row).
ReID features come from a reference checkpoint (by default the dataset's baseline), loaded with
the same loader evaluation uses, and are cached per checkpoint digest (``features.py``); pixel
scores of a row whose fingerprint (contents of generated image, source and mask) is unchanged are
reused from the previous table (``dlcr_assets.reuse``).
So a rerun scores only new images; references and decisions are recomputed each time (cheap).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.params.quality import QualityParams
from dlcr_assets.fingerprint import FileDigests, extend, fingerprint
from dlcr_assets.quality.features import cached_features, checkpoint_digest
from dlcr_assets.quality.pixels import AB_BINS, GRADIENT_BINS, L_BINS, pixel_scores, read_mask, read_rgb
from dlcr_assets.quality.policy import decide
from dlcr_assets.quality.references import (References, clothes_references, identity_references, identity_threshold,
                                            rank_threshold)
from dlcr_assets.quality.scorers import ClipPromptScorer, PromptScorer, RealismScorer
from dlcr_assets.reuse import Reuse
from dlcr_reid.device import resolve_device
from dlcr_reid.io import save_table

PIXEL_COLUMNS = ["lab_delta_e", "histogram_distance", "colour_entropy", "leaked_pixels"]
DIGEST_CACHE = "file_digests.parquet"  # beside the feature caches: the content digests of the files scored


def _require(table: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise StepInputError(f"the {what} lacks columns {missing}; it has {list(table.columns)}")


def _optional(values, index: pd.Index) -> pd.Series:
    """A score column of an optional scorer: floats, or all None when the scorer did not run."""
    if values is None:
        return pd.Series(None, index=index, dtype=object)
    return pd.Series(np.asarray(values, dtype=np.float64), index=index)


def _reference_model(checkpoint: Path, device: str):
    from dlcr_reid.evaluation.evaluate import input_size_from_meta
    from dlcr_reid.models import load_checkpoint  # the loader evaluate_checkpoint uses

    model, meta = load_checkpoint(checkpoint, device=device)
    size = input_size_from_meta(meta) or getattr(model, "input_size", None)
    if not size:
        raise StepInputError(f"checkpoint {checkpoint} records no input size (meta input_size)")
    return model, (int(size[0]), int(size[1]))


def row_fingerprints(paths, sources, mask_paths: dict[str, str], digests: FileDigests) -> list[str]:
    """Per generated image: the fingerprint of its, its source's and the mask's contents and the scores' settings."""
    base = fingerprint({"scores": PIXEL_COLUMNS, "bins": [L_BINS, AB_BINS, GRADIENT_BINS]})
    return [extend(base, digests(path), digests(source), digests(mask_paths.get(source)))
            for path, source in zip(paths, sources)]


def _pixel_table(rows: pd.DataFrame, mask_paths: dict[str, str], previous: Path,
                 digests: FileDigests) -> tuple[pd.DataFrame, int]:
    """PIXEL_COLUMNS per row, reused from the ``previous`` table where the row's fingerprint
    (``row_fingerprints``) is unchanged; rows computed now."""
    prints = row_fingerprints(rows["path"], rows["source_path"], mask_paths, digests)
    reuse = Reuse(previous, "path")
    records, computed, sources = [], 0, {}
    for key, path, source_path in zip(prints, rows["path"], rows["source_path"]):
        old = reuse.get(path, key)
        if old is not None and all(column in old for column in PIXEL_COLUMNS):
            records.append({column: old[column] for column in PIXEL_COLUMNS})
            continue
        if source_path not in sources:  # variants of one source are adjacent: keep only the last source
            sources = {source_path: (read_rgb(source_path), read_mask(mask_paths[source_path]))}
        source, mask = sources[source_path]
        scores = pixel_scores(read_rgb(path), source, mask)
        scores["histogram_distance"] = scores.pop("colour_distance")
        records.append(scores)
        computed += 1
    table = pd.DataFrame.from_records(records, columns=PIXEL_COLUMNS, index=rows.index)
    table["fingerprint"] = prints
    return table, computed


def _identity(rows, features, source_features, source_pids, references: References, params: QualityParams):
    """(cosine to source, nearest ok (None: source not a training identity), own rank, rank limit, cosine floor)."""
    cosine = np.sum(features * source_features, axis=1)
    scores = features @ references.means.T
    known = np.isin(source_pids, references.pids)  # query variants: no training identity to be nearest to
    column = np.clip(np.searchsorted(references.pids, source_pids), 0, len(references.pids) - 1)
    own = scores[np.arange(len(rows)), column]
    ranks = np.where(known, 1 + np.sum(scores > own[:, None], axis=1), 0)
    limit = rank_threshold(references, params.identity_quantile)
    nearest_ok = pd.Series([bool(r <= limit) if k else None for r, k in zip(ranks, known)], index=rows.index, dtype=object)
    quantile = params.identity_quantile if params.identity_quantile is not None else 0.05
    floors = np.asarray([identity_threshold(references, p, quantile) for p in source_pids])
    return cosine, nearest_ok, ranks, limit, floors


def score_generated_images(
    index: pd.DataFrame,
    masks: pd.DataFrame,
    manifest: pd.DataFrame,
    reference_checkpoint: Path,
    params: QualityParams,
    out_path: Path,
    device: str = "auto",
    *,
    cache_dir: Path | None = None,
    realism: RealismScorer | None = None,
    prompt_scorer: PromptScorer | None = None,
) -> pd.DataFrame:
    """Score every ok manifest row, decide kept/reason, write ``out_path`` atomically; return the table.

    ``index``: the dataset index (training rows give the references; ``pid`` of each source comes
    from it). ``masks``: the clothing-masks table (``path`` -> ``mask_path``). ``cache_dir`` holds
    the feature cache (default ``<out_path's folder>/features``). ``attrs["run"]`` says how many
    images had features extracted and pixel scores computed in this call.
    """
    _require(manifest, ["path", "source_path", "variant", "status"], "generation manifest")
    _require(masks, ["path", "mask_path"], "masks table")
    _require(index, ["path", "pid", "clothes_id", "split"], "dataset index")
    out_path, reference_checkpoint = Path(out_path), Path(reference_checkpoint)
    device = resolve_device(device)
    rows = manifest[manifest["status"] == "ok"].sort_values(["source_path", "variant"], kind="stable")
    rows = rows.reset_index(drop=True)
    mask_paths = dict(zip(masks["path"], masks["mask_path"]))
    lacking = sorted(set(rows["source_path"]) - set(mask_paths))
    if lacking:
        raise StepInputError(f"{len(lacking)} source images have no clothing mask, e.g. {lacking[0]}")
    pid_of = dict(zip(index["path"], index["pid"]))
    unknown = sorted(set(rows["source_path"]) - set(pid_of))
    if unknown:
        raise StepInputError(f"{len(unknown)} manifest sources are not in the dataset index, e.g. {unknown[0]}")

    train = index[index["split"] == "train"].reset_index(drop=True)
    model, size = _reference_model(reference_checkpoint, device)
    digest = checkpoint_digest(reference_checkpoint)
    cache_dir = Path(cache_dir or out_path.parent / "features")
    digests = FileDigests(cache_dir / DIGEST_CACHE)  # a rerun stats the files instead of reading them
    paths = list(dict.fromkeys([*train["path"], *rows["source_path"], *rows["path"]]))
    features, extracted = cached_features(model, paths, cache_dir / f"{digest}.npz", height=size[0], width=size[1],
                                          batch_size=params.batch_size, device=device, digests=digests)
    position = {p: i for i, p in enumerate(paths)}
    pids, means, cosines, ranks = identity_references(train, features[[position[p] for p in train["path"]]])
    distances, entropies = clothes_references(train, mask_paths)
    references = References(pids, means, cosines, ranks, distances, entropies)

    pixels, computed = _pixel_table(rows, mask_paths, out_path, digests)
    digests.save()
    source_pids = rows["source_path"].map(pid_of).to_numpy()
    generated = features[[position[p] for p in rows["path"]]]
    sources = features[[position[p] for p in rows["source_path"]]]
    cosine, nearest_ok, rank, rank_limit, identity_floor = _identity(rows, generated, sources, source_pids,
                                                                     references, params)

    def quantile(values: np.ndarray, q: float | None) -> float:
        return float(np.quantile(values, q)) if q is not None and len(values) else float("nan")

    # "manifest": which manifest a row comes from, when the caller scores several (the step does)
    table = rows[["path", "source_path", "variant", *(["manifest"] if "manifest" in rows else [])]].copy()
    table["pid"] = source_pids
    table["identity_cosine"] = cosine
    table["identity_nearest_ok"] = nearest_ok
    table["identity_rank"] = rank
    table["identity_rank_threshold"] = rank_limit
    table["identity_threshold"] = identity_floor
    table["clothes_distance"] = pixels["histogram_distance"]
    table = pd.concat([table, pixels[["lab_delta_e", "histogram_distance", "colour_entropy", "leaked_pixels"]]], axis=1)
    table["clothes_threshold"] = quantile(distances, params.clothes_quantile)
    table["entropy_threshold"] = quantile(entropies, params.entropy_quantile) + params.entropy_margin_bits
    table["realism"] = _optional(realism(table["path"].tolist()) if realism and len(table) else None, table.index)
    if prompt_scorer is None and params.prompt_model_id:
        prompt_scorer = ClipPromptScorer(params.prompt_model_id, device, params.batch_size)
    if prompt_scorer and len(table):
        _require(rows, ["prompt"], "generation manifest")
        table["prompt_similarity"] = _optional(prompt_scorer(table["path"].tolist(), rows["prompt"].tolist()), table.index)
    else:
        table["prompt_similarity"] = _optional(None, table.index)
    table["fingerprint"] = pixels["fingerprint"]
    table["checkpoint_sha256"] = digest
    table = decide(table, params)
    save_table(table, out_path)
    table.attrs["run"] = {"scored": len(table), "features_extracted": extracted, "pixels_computed": computed,
                          "kept": int(table["kept"].sum())}
    return table
