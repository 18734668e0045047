"""The demo's headline numbers over several seeds: baseline vs DLCR vs DLCR + refinement, mean and spread.

Runs the whole demo (`dlcr-demo`, the shipped params.yaml) once per seed in its own folder, with
`generation.seed` and `training.seed` set to that seed (the embedded dataset itself stays the one
`synthetic.seed` draws), and collects each run's comparison report. Prints one markdown table of
mean ± sample standard deviation (and min..max) per method and column, and writes every run's
rows to --out (JSON), which `scripts/readme_tables.py` turns into the README's demo table.

    .venv/bin/python benchmarks/demo_seeds.py --seeds 0,1,2 --parallel 3

About 10-15 minutes per seed on a quiet 2-core CPU, one after the other. `--parallel N` runs N
seeds at once with cores/N threads each, for machines with cores to spare (on 2 cores one thread
per run was measured about 2.5x slower per training step than two: no gain there).

    .venv/bin/python benchmarks/demo_seeds.py --seeds 1,2 --append   # add seeds to the results there
    .venv/bin/python benchmarks/demo_seeds.py --seeds 0 --collect     # re-read a finished seed's report

The JSON is written after each seed, so a stopped run keeps the seeds it finished.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))


def seed_params(shipped: Path, seed: int, folder: Path) -> Path:
    """The shipped params with this seed and every path under ``folder``."""
    data = yaml.safe_load(shipped.read_text()) or {}
    data["data_dir"] = str(folder / "data")
    for section in ("generation", "training"):
        data.setdefault(section, {})["seed"] = seed
    raw = folder / "data" / "raw" / "synthetic"
    data.setdefault("synthetic", {})["root"] = str(raw)
    data.setdefault("datasets", {}).setdefault("synthetic", {"format": "synthetic"})["root"] = str(raw)
    data.setdefault("tracking", {})["uri"] = f"sqlite:///{folder / 'mlflow.db'}"
    data.setdefault("orchestration", {})["watch_root"] = str(folder / "data" / "raw")
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start_seed(shipped: Path, seed: int, work: Path, threads: int | None):
    """Start one demo run in its own folder; return (process, folder, log file, start time)."""
    folder = work / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    params = seed_params(shipped, seed, folder)
    env = {**os.environ, "DAGSTER_HOME": str(folder / "dagster_home"), "DLCR_PARAMS": str(params),
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    (folder / "dagster_home").mkdir(exist_ok=True)
    log = open(folder / "demo.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "dagster_project.demo", "--params", str(params)], cwd=folder,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, folder, log, time.perf_counter()


def finish_seed(seed: int, process, folder: Path, log, started: float) -> dict:
    code = process.wait()
    log.close()
    if code:
        raise SystemExit(f"seed {seed}: dlcr-demo failed (exit {code}); log: {folder / 'demo.log'}")
    from dlcr_assets.layout import DatasetPaths

    comparison = json.loads(DatasetPaths(folder / "data", "synthetic").comparison_report["json"].read_text())
    return {"seed": seed, "seconds": round(time.perf_counter() - started, 1), "rows": comparison["rows"]}


def collect_seed(seed: int, work: Path) -> dict:
    """A finished seed's run read back from its folder (a run stopped before its result was written)."""
    from dlcr_assets.layout import DatasetPaths

    path = DatasetPaths(work / f"seed{seed}" / "data", "synthetic").comparison_report["json"]
    if not path.is_file():
        raise SystemExit(f"seed {seed}: no comparison report at {path}: run the seed first")
    comparison = json.loads(path.read_text())
    return {"seed": seed, "seconds": round(sum(comparison["stage_seconds"].values()), 1), "seconds_from": "stage times",
            "rows": comparison["rows"]}


def spread_table(runs: list[dict]) -> str:
    """Markdown: mean ± sd (min..max) over the runs, per method and metric column."""
    from dlcr_assets.report import METRIC_COLUMNS, METRIC_HEADERS

    lines = [f"| method ({len(runs)} seed{'s' if len(runs) > 1 else ''}) | " + " | ".join(METRIC_HEADERS) + " |",
             "|---" * (len(METRIC_HEADERS) + 1) + "|"]
    methods = [row["method"] for row in runs[0]["rows"]]
    for method in methods:
        cells = []
        for column in METRIC_COLUMNS:
            values = [row[column] for run in runs for row in run["rows"]
                      if row["method"] == method and row[column] is not None]
            if len(values) < len(runs):
                cells.append("n/a")
                continue
            if len(values) == 1:  # one seed: no spread to give
                cells.append(f"{values[0]:.1f}")
                continue
            sd = statistics.stdev(values)
            cells.append(f"{statistics.fmean(values):.1f} ± {sd:.1f} ({min(values):.1f}..{max(values):.1f})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--params", type=Path, default=PROJECT / "params.yaml")
    parser.add_argument("--work", type=Path, default=PROJECT / "data" / "benchmarks" / "demo_seeds")
    parser.add_argument("--out", type=Path, default=PROJECT / "benchmarks" / "results" / "demo_seeds.json")
    parser.add_argument("--parallel", type=int, default=1, help="runs at once (each with cores/N threads)")
    parser.add_argument("--collect", action="store_true",
                        help="run nothing: collect the seeds already finished under --work (their wall time is then "
                             "the sum of the report's stage times)")
    parser.add_argument("--append", action="store_true",
                        help="keep the runs of other seeds already in --out (seeds measured by separate invocations)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    # --parallel N: N runs at once, the cores shared out (OMP threads per run); the wall time per
    # run is then not the demo's own
    threads = max(1, (os.cpu_count() or 1) // args.parallel) if args.parallel > 1 else None
    if args.collect:
        runs = [collect_seed(seed, args.work.resolve()) for seed in seeds]
        write_result(args.out, runs, args.parallel, args.append)
        print(spread_table(runs))
        return
    runs = []
    for start in range(0, len(seeds), args.parallel):
        batch = seeds[start:start + args.parallel]
        print(f"[demo_seeds] seeds {batch} ...", flush=True)
        started = {seed: start_seed(args.params.resolve(), seed, args.work.resolve(), threads) for seed in batch}
        for seed in batch:
            runs.append({**finish_seed(seed, *started[seed]), "parallel": args.parallel,
                         "load_average": round(os.getloadavg()[0], 1)})
            print(f"[demo_seeds] seed {seed}: {runs[-1]['seconds']:.0f} s", flush=True)
            write_result(args.out, runs, args.parallel, args.append)  # after each seed: a stopped run keeps what it measured
    print(spread_table(runs))
    times = ", ".join(f"{run['seconds']:.0f} s" for run in runs)
    print(f"\nper-seed wall time: {times}; written {args.out}")


def write_result(out: Path, runs: list[dict], parallel: int, append: bool = False) -> None:
    """Write the runs to ``out``; ``append`` keeps the runs of other seeds already there (read at write time)."""
    if append and out.is_file():
        mine = {run["seed"] for run in runs}
        before = json.loads(out.read_text())
        # a run written without its own load figure carries its file's (written when it ended)
        kept = [{"parallel": before.get("parallel", 1), "load_average": before["load_average"][0], **run}
                for run in before["runs"] if run["seed"] not in mine]
        runs = sorted(kept + runs, key=lambda run: run["seed"])
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU" if not _has_cuda() else platform.machine(),
              "load_average": [round(x, 1) for x in os.getloadavg()], "parallel": parallel, "runs": runs}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
