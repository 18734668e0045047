"""Dataset validation (`dlcr check-dataset`): images decode, sizes, naming, query/gallery coverage."""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from PIL import Image
from dlcr_reid.progress import progress as progress_bar

from dlcr_reid.datasets.table import QUERY_SPLITS, is_image_name

SHOWN = 10


@dataclass
class CheckReport:
    """What ``check_dataset`` found. ``errors`` make the check fail; ``warnings`` do not."""

    dataset: str
    format: str | None
    images_checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    sizes: Counter = field(default_factory=Counter)
    unmatched: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def size_stats(self) -> dict[str, Any]:
        """Smallest and largest (by area) and most common (width, height)."""
        if not self.sizes:
            return {}
        by_area = sorted(self.sizes, key=lambda size: (size[0] * size[1], size))
        common, count = self.sizes.most_common(1)[0]
        return {"min": by_area[0], "max": by_area[-1], "most_common": common, "most_common_count": count}

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "format": self.format, "ok": self.ok,
            "images_checked": self.images_checked, "corrupt": self.corrupt,
            "sizes": {k: list(v) if isinstance(v, tuple) else v for k, v in self.size_stats().items()},
            "unmatched": self.unmatched, "errors": self.errors, "warnings": self.warnings,
        }

    def to_text(self) -> str:
        lines = [f"check-dataset {self.dataset} (format {self.format}): {'OK' if self.ok else 'FAILED'}"]
        lines.append(f"images decoded: {self.images_checked - len(self.corrupt)}/{self.images_checked}")
        stats = self.size_stats()
        if stats:
            fmt = lambda size: f"{size[0]}x{size[1]}"  # noqa: E731
            lines.append(
                f"image sizes (WxH): min {fmt(stats['min'])}, max {fmt(stats['max'])}, most common "
                f"{fmt(stats['most_common'])} ({stats['most_common_count']} images)"
            )
        lines.append(f"files matching no naming rule: {len(self.unmatched)}")
        lines += [f"  {path}" for path in self.unmatched[:SHOWN]]
        for title, items in (("errors", self.errors), ("warnings", self.warnings)):
            lines.append(f"{title}: {len(items)}")
            lines += [f"  - {item}" for item in items]
        return "\n".join(lines)


def _decode(path: str) -> tuple[str, tuple[int, int] | None, str | None]:
    """Verify the file structure, then fully decode it (verify alone misses truncated pixel data)."""
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            image.load()
            return path, image.size, None
    except Exception as error:  # noqa: BLE001 -- PIL raises many types for bad files
        return path, None, f"{type(error).__name__}: {error}"


def _image_paths(index: pd.DataFrame) -> list[str]:
    if "frames" in index.columns:
        return [frame for frames in index["frames"] for frame in frames]
    return index["path"].tolist()


def check_dataset(index: pd.DataFrame, spec: Any = None, workers: int = 4, progress: bool = True) -> CheckReport:
    """Validate an indexed dataset: decode every image, collect sizes, report naming and coverage.

    Errors: corrupt/truncated/missing images (with paths), image-like files matching no naming rule,
    empty train/query/gallery splits, query ids with no gallery image, tracklets without frames.
    Warnings: non-image files in the dataset folders.
    """
    name = str(index["dataset"].iloc[0]) if len(index) else "?"
    report = CheckReport(dataset=name, format=getattr(spec, "format", None))

    paths = _image_paths(index)
    report.images_checked = len(paths)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(_decode, paths, chunksize=64)
        for path, size, problem in progress_bar(results, total=len(paths), desc="decoding images", disable=not progress):
            if problem is None:
                report.sizes[size] += 1
            else:
                report.corrupt.append(path)
                report.errors.append(f"cannot decode {path}: {problem}")

    report.unmatched = list(index.attrs.get("unmatched", []))
    image_like = [path for path in report.unmatched if is_image_name(path)]
    other = [path for path in report.unmatched if not is_image_name(path)]
    if image_like:
        shown = ", ".join(image_like[:SHOWN])
        report.errors.append(f"{len(image_like)} image file(s) match no naming rule: {shown}")
    if other:
        report.warnings.append(f"{len(other)} other file(s)/line(s) not indexed: {', '.join(other[:SHOWN])}")

    splits = set(index["split"])
    if "train" not in splits:
        report.errors.append("no training images (split 'train' is empty)")
    if "gallery" not in splits:
        report.errors.append("no gallery images (split 'gallery' is empty)")
    if not splits & set(QUERY_SPLITS):
        report.errors.append("no query images (splits query/query_same/query_diff are empty)")
    gallery_pids = set(index.loc[index["split"] == "gallery", "pid"])
    for split in QUERY_SPLITS:
        query_pids = set(index.loc[index["split"] == split, "pid"])
        orphans = sorted(query_pids - gallery_pids)
        if orphans and gallery_pids:
            report.errors.append(
                f"{len(orphans)} {split} id(s) have no gallery image: {orphans[:SHOWN]}"
            )
    if "num_frames" in index.columns:
        empty = index.loc[index["num_frames"] == 0, "path"].tolist()
        if empty:
            report.errors.append(f"{len(empty)} tracklet(s) have no frames: {empty[:SHOWN]}")
    filtered = index.attrs.get("filtered")
    if filtered:
        report.warnings.append(f"{filtered} query/gallery image(s) left out by the format's mode option")
    return report
