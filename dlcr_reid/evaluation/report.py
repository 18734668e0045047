"""Evaluation report writers: JSON (everything), markdown (a table) and a CMC-curve PNG, all atomic."""
from __future__ import annotations

import json
from pathlib import Path

from dlcr_reid.io import atomic_write


def report_paths(out_dir: Path, name: str) -> dict[str, Path]:
    out_dir = Path(out_dir)
    return {"json": out_dir / f"{name}.json", "markdown": out_dir / f"{name}.md", "cmc_png": out_dir / f"{name}-cmc.png"}


def write_json(report: dict, path: Path) -> Path:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    return path


def _cell(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_table(report: dict) -> str:
    """A markdown summary: one row per protocol, metrics in percent."""
    protocols: dict = report["protocols"]
    rank_keys = report.get("rank_keys") or ["top1", "top5", "top10"]
    lines = [
        f"# Evaluation: {report.get('dataset', '?')} ({report.get('name', '')})",
        "",
        f"- checkpoint: `{report.get('checkpoint', '-')}`",
        f"- format: {report.get('format', '?')}; input {report.get('input_size', '?')}; "
        f"feature dim {report.get('feature_dim', '?')}",
        "",
        "| protocol | " + " | ".join(rank_keys) + " | mAP | mINP | queries | skipped |",
        "|---|" + "---|" * (len(rank_keys) + 4),
    ]
    for name, metrics in protocols.items():
        cells = [_cell(metrics.get(key)) for key in (*rank_keys, "mAP", "mINP")]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {metrics.get('num_queries', 0)} | {metrics.get('num_skipped', 0)} |"
        )
    notes = [f"- {name}: {m['error']}" for name, m in protocols.items() if m.get("error")]
    if notes:
        lines += ["", "Not evaluated:", *notes]
    lines += ["", "Metrics in percent; ranks are 1-based among non-junk gallery items (SPEC §1.7)."]
    return "\n".join(lines) + "\n"


def write_markdown(report: dict, path: Path) -> Path:
    with atomic_write(path) as tmp:
        tmp.write_text(markdown_table(report))
    return path


def write_cmc_png(report: dict, path: Path) -> Path:
    """CMC curves (percent vs rank) of every evaluated protocol in one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name, metrics in report["protocols"].items():
        cmc = metrics.get("cmc") or []
        if cmc:
            axes.plot(range(1, len(cmc) + 1), cmc, marker=".", label=name)
    axes.set_xlabel("rank")
    axes.set_ylabel("matching rate (%)")
    axes.set_ylim(0, 100)
    axes.set_title(f"CMC: {report.get('dataset', '')} {report.get('name', '')}".strip())
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend()
    with atomic_write(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def write_report(report: dict, out_dir: Path, name: str) -> dict[str, Path]:
    """Write <name>.json, <name>.md and <name>-cmc.png under out_dir; return their paths."""
    paths = report_paths(out_dir, name)
    write_json(report, paths["json"])
    write_markdown(report, paths["markdown"])
    write_cmc_png(report, paths["cmc_png"])
    return paths


__all__ = ["markdown_table", "report_paths", "write_cmc_png", "write_json", "write_markdown", "write_report"]
