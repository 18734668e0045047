"""Evaluate a ReID model on a dataset index: features, each protocol's metrics, refinement, reports.

Metric values returned here are in percent (as papers report them); ``metrics.evaluate`` itself
returns fractions.
"""
from __future__ import annotations

import datetime as _dt
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dlcr_reid.datasets.table import QUERY_SPLITS
from dlcr_reid.device import resolve_device
from dlcr_reid.errors import ReidInputError
from dlcr_reid.evaluation.distance import cosine_distance
from dlcr_reid.evaluation.features import extract_image_features, extract_video_features
from dlcr_reid.evaluation.metrics import classify_pairs, evaluate, identity_pairs
from dlcr_reid.evaluation.protocols import Protocol, dataset_format, protocols_for
from dlcr_reid.evaluation.refinement import refine_distances, select_variant_rows, views_from_manifest_rows
from dlcr_reid.evaluation.report import write_report
from dlcr_reid.params.evaluation import EvaluationParams


def _input_size(params: EvaluationParams, input_size, model) -> tuple[int, int]:
    """params.height/width, else the caller's input_size, else the model's own ``input_size``."""
    fallback = input_size or getattr(model, "input_size", None)
    height = params.height or (fallback[0] if fallback else None)
    width = params.width or (fallback[1] if fallback else None)
    if not height or not width:
        raise ReidInputError(
            "evaluation input size unknown: set evaluation.height/width in params.yaml or evaluate a "
            "checkpoint (its meta stores the training input size)"
        )
    return int(height), int(width)


def _is_video(table: pd.DataFrame) -> bool:
    return "frames" in table.columns and table["frames"].notna().any()


def _features(model, table: pd.DataFrame, params: EvaluationParams, size, device: str, desc: str) -> torch.Tensor:
    common = dict(
        height=size[0], width=size[1], batch_size=params.batch_size, flip=params.flip,
        device=device, num_workers=params.num_workers, desc=desc,
    )
    if _is_video(table):
        return extract_video_features(
            model, table["path"].tolist(), table["frames"].tolist(),
            clip_len=params.video.clip_len, stride=params.video.stride, **common,
        )
    return extract_image_features(model, table["path"].tolist(), **common)


def _summary(result: dict, params: EvaluationParams) -> dict:
    cmc = result["cmc"]
    summary = {f"top{r}": 100.0 * float(cmc[min(r, len(cmc)) - 1]) for r in params.ranks}
    summary.update(
        mAP=100.0 * result["mAP"],
        mINP=100.0 * result["mINP"],
        num_queries=int(result["num_valid_queries"]),
        num_skipped=int(result["num_skipped_queries"]),
        cmc=[100.0 * float(v) for v in cmc[: params.cmc_max_rank]],
    )
    return summary


def _labels(table: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "pids": table["pid"].to_numpy(np.int64),
        "camids": table["camid"].to_numpy(np.int64),
        "clothes": table["clothes_id"].to_numpy(np.int64),
    }


def _score(distmat, query, gallery, protocol: Protocol, params: EvaluationParams) -> dict:
    try:
        result = evaluate(
            distmat, query["pids"], gallery["pids"], query["camids"], gallery["camids"],
            query["clothes"], gallery["clothes"], mode=protocol.mode,
            chunk_bytes=params.ranking_chunk_mb * 2**20, threads=params.ranking_threads,
        )
    except ReidInputError as error:
        # a protocol with no valid query (e.g. SC on a set without same-clothes pairs) is reported, not fatal
        return {"num_queries": 0, "num_skipped": int(len(query["pids"])), "error": str(error), "cmc": []}
    return _summary(result, params)


def evaluate_model(
    model: torch.nn.Module,
    index: pd.DataFrame,
    params: EvaluationParams,
    device: str = "cpu",
    query_variants: pd.DataFrame | None = None,
    *,
    dataset_format_name: str | None = None,
    input_size: tuple[int, int] | None = None,
) -> dict:
    """{protocol: {"top1", "top5", "top10", "mAP", "mINP", "num_queries", "num_skipped", "cmc"}} in percent.

    Runs the dataset's protocols (``protocols.py``). With ``query_variants`` (the query-variants
    manifest) and refinement enabled, each clothes-changing protocol whose queries have variants is
    also reported refined as "<protocol>_refined" (CMC and mAP of the refined ranking), with "top1_fused" (queries whose fused top-1 identity is
    right) and "num_refined_queries". ``input_size`` (height, width) is used when params leave it unset.
    """
    device = resolve_device(device)
    size = _input_size(params, input_size, model)
    protocols = protocols_for(index, dataset_format_name)
    needed = {s for p in protocols for s in (*p.query_splits, *p.gallery_splits)}
    table = index[index["split"].isin(needed)].reset_index(drop=True)
    was_training = model.training
    model.eval()
    try:
        features = _features(model, table, params, size, device, "test features")
        refine = query_variants is not None and params.refinement.enabled and len(query_variants) > 0
        variant_rows, variant_features = None, None
        if refine:
            query_paths = table.loc[table["split"].isin({s for p in protocols for s in p.query_splits}), "path"]
            variant_rows = select_variant_rows(query_variants, query_paths.tolist(), params.refinement.views)
            if len(variant_rows):
                variant_features = extract_image_features(
                    model, variant_rows["path"].tolist(), height=size[0], width=size[1],
                    batch_size=params.batch_size, flip=params.flip, device=device,
                    num_workers=params.num_workers, desc="query-variant features",
                )
    finally:
        model.train(was_training)

    results: dict[str, dict] = {}
    for protocol in protocols:
        query_mask = table["split"].isin(protocol.query_splits).to_numpy()
        gallery_mask = table["split"].isin(protocol.gallery_splits).to_numpy()
        query, gallery = _labels(table[query_mask]), _labels(table[gallery_mask])
        q_feats, g_feats = features[torch.from_numpy(query_mask)], features[torch.from_numpy(gallery_mask)]
        distmat = cosine_distance(q_feats, g_feats, params.distance_chunk_rows, device)
        results[protocol.name] = _score(distmat, query, gallery, protocol, params)
        del distmat
        # refinement demotes same-clothes matches by design (its views wear other clothes), so it is
        # scored on the clothes-changing protocol only
        if variant_features is None or protocol.mode != "cc":
            continue
        q_paths = table.loc[query_mask, "path"].tolist()
        mine = variant_rows["source_path"].isin(set(q_paths)).to_numpy()
        if not mine.any():
            continue
        views, view_mask = views_from_manifest_rows(
            q_paths, variant_rows[mine], variant_features[torch.from_numpy(mine)], params.refinement.views
        )
        pair_q, pair_g = identity_pairs(query["pids"], gallery["pids"])
        _, junk = classify_pairs(
            pair_q, pair_g, query["camids"], gallery["camids"], query["clothes"], gallery["clothes"], protocol.mode
        )
        refined, fused_top1 = refine_distances(
            q_feats, views, g_feats, gallery["pids"], view_mask=view_mask,
            top_k=params.refinement.top_k, excluded=(pair_q[junk], pair_g[junk]),
        )
        entry = _score(refined, query, gallery, protocol, params)
        if "error" not in entry:
            # fused top-1 identity right, over the queries the protocol keeps (those with a good match)
            good, _ = classify_pairs(
                pair_q, pair_g, query["camids"], gallery["camids"], query["clothes"], gallery["clothes"], protocol.mode
            )
            valid = np.bincount(pair_q[good], minlength=len(query["pids"])) > 0
            entry["top1_fused"] = 100.0 * float(np.mean(fused_top1[valid] == query["pids"][valid]))
        entry["num_refined_queries"] = int(view_mask.any(axis=1).sum())
        results[f"{protocol.name}_refined"] = entry
    if all("error" in r for r in results.values()):
        raise ReidInputError(
            "no protocol could be evaluated: " + "; ".join(f"{k}: {v['error']}" for k, v in results.items())
        )
    return results


def _find_key(meta, keys: tuple[str, ...]):
    """First value under any of ``keys`` in a nested meta dict (breadth-first)."""
    queue = [meta]
    while queue:
        node = queue.pop(0)
        if isinstance(node, dict):
            for key in keys:
                if node.get(key) is not None:
                    return node[key]
            queue.extend(v for v in node.values() if isinstance(v, dict))
    return None


def input_size_from_meta(meta: dict) -> tuple[int, int] | None:
    """The training input size a checkpoint's meta records (height/width, or input_size [h, w])."""
    size = _find_key(meta, ("input_size",))
    if size is not None and len(size) == 2:
        return int(size[0]), int(size[1])
    height, width = _find_key(meta, ("height", "input_height")), _find_key(meta, ("width", "input_width"))
    if height and width:
        return int(height), int(width)
    return None


def _load(checkpoint: Path, device: str):
    from dlcr_reid.models import load_checkpoint

    if "device" in inspect.signature(load_checkpoint).parameters:
        return load_checkpoint(checkpoint, device=device)
    model, meta = load_checkpoint(checkpoint)
    return model.to(device), meta


def evaluate_checkpoint(
    checkpoint: Path,
    index: pd.DataFrame,
    params: EvaluationParams,
    out_dir: Path,
    query_variants: pd.DataFrame | None = None,
    device: str = "auto",
    *,
    name: str | None = None,
    dataset_format_name: str | None = None,
) -> dict:
    """Evaluate a saved checkpoint and write <out_dir>/<name>.json, .md and <name>-cmc.png.

    ``name`` defaults to the checkpoint's training mode (meta "mode") or its folder name
    (data/reid_checkpoint/<dataset>/<mode>/best.safetensors -> "<mode>"). Returns the report dict.
    """
    checkpoint = Path(checkpoint)
    device = resolve_device(device)
    model, meta = _load(checkpoint, device)
    size = (params.height, params.width) if params.height and params.width else input_size_from_meta(meta)
    name = name or (meta.get("mode") if isinstance(meta.get("mode"), str) else None) or checkpoint.parent.name
    # the format the checkpoint was trained with stands in when the caller gives none
    dataset_format_name = dataset_format_name or meta.get("format")
    protocols = evaluate_model(
        model, index, params, device, query_variants, dataset_format_name=dataset_format_name, input_size=size
    )
    report = {
        "name": name,
        "dataset": str(index["dataset"].iloc[0]) if "dataset" in index and len(index) else None,
        "format": dataset_format(index, dataset_format_name),
        "checkpoint": str(checkpoint.resolve()),
        "input_size": list(_input_size(params, size, model)),
        "feature_dim": int(getattr(model, "feature_dim", 0)) or None,
        "device": device,
        "flip": params.flip,
        "refinement": params.refinement.model_dump() if query_variants is not None else None,
        "rank_keys": [f"top{r}" for r in params.ranks],
        "num_query": int(index["split"].isin(QUERY_SPLITS).sum()),
        "num_gallery": int((index["split"] == "gallery").sum()),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "protocols": protocols,
        # which rule chose this checkpoint (training.selection), its epoch and val score, if recorded
        "selection": meta.get("selection"),
    }
    paths = write_report(report, Path(out_dir), name)
    report["files"] = {key: str(path) for key, path in paths.items()}
    return report


__all__ = ["evaluate_checkpoint", "evaluate_model", "input_size_from_meta", "resolve_device"]
