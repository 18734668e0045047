"""The comparison report: baseline vs DLCR vs DLCR + refinement, as markdown, JSON and PNGs.

Reads the evaluation reports the evaluation step wrote and the generation manifest; writes
``data/comparison_report/<name>/comparison.{md,json,png}`` plus ``samples.png`` (source | generated pairs).
Also builds the image snippets (thumbnail grids as embedded PNG) the Dagster UI shows.
"""
from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from PIL import Image, ImageDraw

from dlcr_reid.io import atomic_write

# One definition per column: CMC rank-1 ("top-1") and mAP in every row; the refinement's fused
# top-1 (argmax of its identity score S, SPEC §1.7) in a column of its own. Refinement re-ranks CC
# queries only, so its row has no general numbers.
METRIC_COLUMNS = ("cc_top1", "cc_mAP", "cc_fused_top1", "general_top1", "general_mAP")
METRIC_HEADERS = ("CC top-1", "CC mAP", "CC fused top-1", "general top-1", "general mAP")


# ---------------------------------------------------------------- images
def _thumb(path: str | Path, height: int) -> Image.Image:
    image = Image.open(path).convert("RGB")
    width = max(1, round(image.width * height / image.height))
    return image.resize((width, height), Image.BILINEAR)


def sample_grid(manifest: pd.DataFrame, max_sources: int = 6, max_variants: int = 4, thumb_height: int = 96) -> Image.Image:
    """One row per source image: the source, then up to ``max_variants`` generated variants."""
    ok = manifest[manifest["status"] == "ok"] if "status" in manifest else manifest
    if ok.empty:
        return Image.new("RGB", (thumb_height, thumb_height), "white")
    # spread the rows over the whole manifest (different people), not its first few images
    all_sources = list(dict.fromkeys(ok["source_path"]))
    step = max(1, len(all_sources) // max_sources)
    sources = all_sources[::step][:max_sources]
    rows = []
    for source in sources:
        variants = ok[ok["source_path"] == source].sort_values("variant")["path"].tolist()[:max_variants]
        tiles = [_thumb(source, thumb_height)] + [_thumb(p, thumb_height) for p in variants]
        rows.append(tiles)
    tile_w = max(t.width for row in rows for t in row)
    columns = max(len(row) for row in rows)
    gap = 4
    grid = Image.new("RGB", (columns * (tile_w + gap) + gap * 2, len(rows) * (thumb_height + gap) + gap), "white")
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            # an extra gap after the source column separates real from generated
            x = gap + c * (tile_w + gap) + (gap * 2 if c else 0)
            grid.paste(tile, (x, gap + r * (thumb_height + gap)))
    ImageDraw.Draw(grid).line([(tile_w + gap * 2, 0), (tile_w + gap * 2, grid.height)], fill=(200, 0, 0), width=2)
    return grid


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def markdown_image(image: Image.Image, alt: str = "image") -> str:
    """Markdown embedding ``image`` as a base64 PNG (shown inline by the Dagster UI)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png_bytes(image)).decode('ascii')})"


def save_png(image: Image.Image, path: Path) -> Path:
    with atomic_write(path) as tmp:
        image.save(tmp, format="PNG")
    return path


# ---------------------------------------------------------------- metrics
def _protocol(report: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    block = report.get("protocols", {}).get(name)
    return block if isinstance(block, Mapping) and "error" not in block else None


def _value(block: Mapping[str, Any] | None, key: str) -> float | None:
    value = None if block is None else block.get(key)
    return None if value is None else float(value)


def comparison_rows(baseline: Mapping[str, Any], dlcr: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows baseline / DLCR / DLCR + refinement, in percent, one definition per column (METRIC_COLUMNS).

    Reports are the evaluation step's (``report["protocols"][name]``). The refinement row takes the
    CMC rank-1 and mAP of the refined CC ranking and its fused top-1; it has no general numbers,
    since refinement is applied to clothes-changing queries only.
    """
    rows = []
    for method, report in (("baseline", baseline), ("DLCR", dlcr)):
        cc, general = _protocol(report, "cc"), _protocol(report, "general")
        rows.append({"method": method, "cc_top1": _value(cc, "top1"), "cc_mAP": _value(cc, "mAP"),
                     "cc_fused_top1": None,
                     "general_top1": _value(general, "top1"), "general_mAP": _value(general, "mAP")})
    refined = _protocol(dlcr, "cc_refined")
    rows.append({"method": "DLCR + refinement", "cc_top1": _value(refined, "top1"), "cc_mAP": _value(refined, "mAP"),
                 "cc_fused_top1": _value(refined, "top1_fused"), "general_top1": None, "general_mAP": None})
    return rows


def _method_key(method: str) -> str:
    """"DLCR + refinement" -> "dlcr_refinement"."""
    return re.sub(r"[^a-z0-9]+", "_", method.lower()).strip("_")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def metrics_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| method | " + " | ".join(METRIC_HEADERS) + " |", "|---" * (len(METRIC_HEADERS) + 1) + "|"]
    for row in rows:
        lines.append(f"| {row['method']} | " + " | ".join(_pct(row[c]) for c in METRIC_COLUMNS) + " |")
    return "\n".join(lines)


def stage_times_markdown(stage_seconds: Mapping[str, float]) -> str:
    lines = ["| stage | seconds |", "|---|---|"]
    lines += [f"| {stage} | {seconds:.1f} |" for stage, seconds in stage_seconds.items()]
    lines.append(f"| **total** | {sum(stage_seconds.values()):.1f} |")
    return "\n".join(lines)


def metrics_chart(rows: list[dict[str, Any]], title: str) -> Image.Image:
    """Grouped bar chart of the metrics per method (percent; a missing value is drawn as no bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(METRIC_HEADERS)
    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    width = 0.8 / max(1, len(rows))
    for i, row in enumerate(rows):
        values = [0.0 if row[c] is None else row[c] for c in METRIC_COLUMNS]
        bars = axes.bar([x + i * width for x in range(len(labels))], values, width, label=row["method"])
        axes.bar_label(bars, fmt="%.1f", fontsize=7)
    axes.set_xticks([x + width * (len(rows) - 1) / 2 for x in range(len(labels))], labels)
    axes.set_ylabel("%")
    axes.set_ylim(0, 105)
    axes.set_title(title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def write_comparison_report(
    name: str,
    baseline_report: Mapping[str, Any],
    dlcr_report: Mapping[str, Any],
    out_dir: Path,
    manifest: pd.DataFrame | None = None,
    stage_seconds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Write comparison.{md,json,png} (+ samples.png) under ``out_dir``; return the summary dict."""
    out_dir = Path(out_dir)
    rows = comparison_rows(baseline_report, dlcr_report)
    chart_path = save_png(metrics_chart(rows, f"{name}: baseline vs DLCR"), out_dir / "comparison.png")
    samples_path = None
    if manifest is not None and len(manifest):
        samples_path = save_png(sample_grid(manifest), out_dir / "samples.png")
    summary: dict[str, Any] = {
        "dataset": name,
        "rows": rows,
        # the same numbers keyed by method, so `dvc metrics show/diff` can read them
        "metrics": {_method_key(row["method"]): {k: row[k] for k in METRIC_COLUMNS} for row in rows},
        "stage_seconds": dict(stage_seconds or {}),
        "generated_images": int((manifest["status"] == "ok").sum()) if manifest is not None and "status" in manifest else None,
        "paths": {"markdown": str(out_dir / "comparison.md"), "json": str(out_dir / "comparison.json"),
                  "chart": str(chart_path), "samples": str(samples_path) if samples_path else None},
    }
    md = [f"# {name}: baseline vs DLCR vs DLCR + refinement", "", metrics_markdown(rows), "",
          "Percent. CC: clothes-changing protocol; general: standard protocol. Top-1 is CMC rank-1 in every row. "
          "Refinement re-ranks CC queries with K clothing variants of each query; its fused top-1 (the argmax of "
          "the fused identity score) has its own column, and it has no general numbers.", "",
          "![metrics](comparison.png)", ""]
    if samples_path:
        md += ["## Generated samples (left: real image; right: generated variants)", "", "![samples](samples.png)", ""]
    if stage_seconds:
        md += ["## Time per stage", "", stage_times_markdown(stage_seconds), ""]
    with atomic_write(out_dir / "comparison.md") as tmp:
        tmp.write_text("\n".join(md))
    with atomic_write(out_dir / "comparison.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary
