"""Indexing speed: `index_dataset` and the full `dlcr dataset-index` command vs a naive glob-and-regex loop.

Builds an LTCC-layout tree of N empty files (indexing reads names, never pixels) under a temporary
folder whose path contains ``reid_code``, then times:
  * naive:   glob.glob("**/*.png") + re.search over each FULL path + per-row dict relabelling
             (the pattern common in research code);
  * library: dlcr_reid.datasets.index_dataset (os.scandir + one vectorised regex pass per folder);
  * cli:     `dlcr dataset-index --root ... --name bench` in a fresh process (imports, index, summary,
             atomic parquet write).
Usage: python benchmarks/index_speed.py [--files 200000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from dlcr_reid.datasets import index_dataset
from dlcr_reid.params import DatasetSpec

SPLITS = {"train": 0.5, "query": 0.05, "test": 0.45}


def build_tree(root: Path, files: int) -> None:
    """Empty files named like LTCC's: <pid>_<outfit>_c<cam>_<index>.png."""
    index = 0
    for split, share in SPLITS.items():
        folder = root / split
        folder.mkdir(parents=True)
        for _ in range(int(files * share)):
            pid, outfit, cam = index % 1500, (index // 1500) % 5 + 1, index % 12 + 1
            os.close(os.open(folder / f"{pid:04d}_{outfit}_c{cam}_{index:07d}.png", os.O_CREAT | os.O_WRONLY))
            index += 1


def naive_index(root: Path) -> pd.DataFrame:
    """What many ReID repos do: glob everything, run the regex on every full path, relabel in dicts."""
    pattern = re.compile(r"(\d+)_(\d+)_c(\d+)")
    rows = []
    for split in SPLITS:
        for path in glob.glob(os.path.join(root, split, "**", "*.png"), recursive=True):
            pid, outfit, cam = map(int, pattern.search(path).groups())
            rows.append({"path": path, "pid": pid, "clothes": f"{pid}_{outfit}", "camid": cam - 1, "split": split})
    train = [row for row in rows if row["split"] == "train"]
    pid2label = {pid: label for label, pid in enumerate(sorted({row["pid"] for row in train}))}
    clothes2label = {c: label for label, c in enumerate(sorted({row["clothes"] for row in train}))}
    for row in train:
        row["pid"], row["clothes_id"] = pid2label[row["pid"]], clothes2label[row["clothes"]]
    return pd.DataFrame(rows)


def best_of(repeat: int, function) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "reid_code" / "LTCC_ReID"
        start = time.perf_counter()
        build_tree(root, args.files)
        print(f"built {args.files} empty files in {time.perf_counter() - start:.1f} s under {root}")

        naive_s, naive = best_of(args.repeat, lambda: naive_index(root))
        spec = DatasetSpec(format="ltcc", root=root)
        library_s, table = best_of(args.repeat, lambda: index_dataset("bench", spec))
        assert len(table) == len(naive) == args.files, (len(table), len(naive))

        params = Path(tmp) / "params.yaml"
        params.write_text(f"data_dir: {Path(tmp) / 'data'}\n")
        dlcr = [sys.executable, "-c", "from dlcr_assets.cli import main; main()"]
        command = [*dlcr, "dataset-index", "--root", str(root), "--format", "ltcc", "--name", "bench", "--params", str(params)]

        def run_cli() -> None:
            subprocess.run(command, check=True, capture_output=True)

        cli_s, _ = best_of(args.repeat, run_cli)
        startup_s, _ = best_of(args.repeat, lambda: subprocess.run([*dlcr, "--help"], check=True, capture_output=True))

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"files: {args.files}  (best of {args.repeat}, warm file-system cache; load average {load} "
          f"on {os.cpu_count()} cores: other work on the machine inflates every figure alike)")
    print(f"naive glob + full-path regex per file : {naive_s:6.2f} s")
    print(f"index_dataset (library)               : {library_s:6.2f} s   speed-up x{naive_s / library_s:.1f}")
    print(f"dlcr dataset-index (fresh process, parquet)   : {cli_s:6.2f} s   speed-up x{naive_s / cli_s:.1f} "
          f"(of which ~{startup_s:.2f} s is `dlcr --help` start-up)")
    print(f"target < 5 s for the CLI: {'met' if cli_s < 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
