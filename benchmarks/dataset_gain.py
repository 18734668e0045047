"""The DLCR gain across datasets (issue 12 item 2): baseline vs DLCR vs DLCR + refinement, per dataset, over seeds.

Each case is a dataset the pipeline has not been tuned on: variants of the embedded (LTCC-layout)
renderer with other identity and outfit counts, image sizes and no trap outfits, and the
independent figures renderer in the VC-Clothes layout (``dlcr_reid/datasets/figures``). Every case
runs the pipeline's own steps with params.yaml's settings (the demo profile, its ``min_steps``
floor included) in its own folder per seed: draw, index, descriptions, prompts, masks,
generation, query variants, the baseline, DLCR, and both evaluated (DLCR with refinement). The
dataset stays the one its renderer's seed 0 draws; ``generation.seed`` = ``training.seed`` = the
seed. Each finished (case, seed) is recorded at once in ``benchmarks/results/dataset_gain.json``
(a rerun skips it unless ``--again``), and the table of mean ± sd per case is printed;
``scripts/readme_tables.py`` writes it into ``benchmarks/README.md`` (block ``dataset_gain/all``).

    .venv/bin/python benchmarks/dataset_gain.py --cases synthetic-25ids,figures --seeds 0,1
    .venv/bin/python benchmarks/dataset_gain.py --smoke --work /tmp/dg      # minutes: the pipeline runs
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from recorded import RESULTS, machine, read, write

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

# case -> (renderer, settings): synthetic overrides are params.yaml keys, figures ones FiguresParams fields
CASES: dict[str, tuple[str, dict]] = {
    "synthetic-25ids": ("synthetic", {"train_ids": 25}),
    "synthetic-100ids": ("synthetic", {"train_ids": 100, "train_images_per_camera": 3}),
    "synthetic-3outfits": ("synthetic", {"outfits_per_id": 3, "gallery_outfits": 1}),
    "synthetic-5outfits": ("synthetic", {"outfits_per_id": 5, "train_images_per_camera": 3}),
    "synthetic-192x96": ("synthetic", {"height": 192, "width": 96}),
    "synthetic-no-traps": ("synthetic", {"trap_fraction": 0.0}),
    "figures": ("figures", {}),
}
# --smoke: seconds-long sizes (the orchestration tests' tiny training), to show the benchmark runs
SMOKE_TRAINING = ["training.epochs=1", "training.ids_per_batch=3", "training.images_per_id=2", "training.height=64",
                  "training.width=32", "training.milestones=[1]", "training.cal_start_epoch=0",
                  "training.max_steps_per_epoch=2", "training.min_steps=null", "generation.variants_per_image=2",
                  "generation.query_variants=2", "evaluation.batch_size=32"]
SMOKE_SYNTHETIC = {"train_ids": 6, "test_ids": 4, "outfits_per_id": 3, "cameras": 3, "train_cameras_per_outfit": 1,
                   "train_images_per_camera": 2, "gallery_outfits": 1, "gallery_cameras_per_outfit": 1,
                   "gallery_images_per_camera": 1, "query_images_per_outfit": 1, "height": 64, "width": 32}
SMOKE_FIGURES = {"train_ids": 6, "test_ids": 4, "images_per_camera": 2}


def case_params(case: str, seed: int, folder: Path, smoke: bool):
    """params.yaml with this case's dataset registered under ``folder`` and the seed set."""
    from dlcr_assets.params import load_params

    renderer, settings = CASES[case]
    data, root = folder / "data", folder / "data" / "raw" / case
    # the figures' parsing maps mirror the image paths below VC-Clothes/: the dataset is registered there
    fmt, registered = ("synthetic", root) if renderer == "synthetic" else ("vcclothes", root / "VC-Clothes")
    overrides = [f"data_dir={data}", "generation.shards=1", "tracking.enabled=false",
                 f"orchestration.watch_root={data / 'raw'}", f"datasets={{{case}: {{format: {fmt}, root: {registered}}}}}",
                 f"generation.seed={seed}", f"training.seed={seed}", *(SMOKE_TRAINING if smoke else [])]
    if renderer == "synthetic":
        values = {**settings, **(SMOKE_SYNTHETIC if smoke else {})}
        overrides += [f"synthetic.root={root}", *(f"synthetic.{k}={v}" for k, v in values.items())]
    else:  # the figures renderer writes LIP maps under <root>/parsing, which the parsing backends read
        overrides += [f"masks.parsing_root={root / 'parsing'}", f"descriptions.parsing_root={root / 'parsing'}"]
    return load_params(PROJECT / "params.yaml", overrides)


def draw(case: str, params, smoke: bool) -> None:
    renderer, settings = CASES[case]
    root = Path(params.synthetic.root if renderer == "synthetic" else params.masks.parsing_root.parent)
    if renderer == "synthetic":
        if not (root / "synthetic.json").is_file():
            from dlcr_assets import steps

            steps.synthetic_dataset(params)
        return
    from dlcr_reid.datasets.figures import MARKER, write_figures_dataset
    from dlcr_reid.params.figures import FiguresParams

    if not (root / MARKER).is_file():
        write_figures_dataset(FiguresParams(root=root, seed=0, **settings, **(SMOKE_FIGURES if smoke else {})))


def run_case(case: str, seed: int, work: Path, smoke: bool, device: str) -> dict:
    """One (case, seed): the pipeline's steps, then the comparison rows (percent)."""
    from dlcr_assets import steps
    from dlcr_assets.report import comparison_rows

    folder = work / case / f"seed{seed}"
    params = case_params(case, seed, folder, smoke)
    started = time.perf_counter()
    draw(case, params, smoke)
    steps.dataset_index(params, case)
    for step in (steps.clothing_descriptions, steps.clothing_prompts, steps.clothing_masks, steps.generated_images,
                 steps.query_variants):
        step(params, case, device=device)
    reports = {}
    for mode in ("baseline", "dlcr"):
        steps.reid_checkpoint(params, case, mode, device)
        reports[mode] = steps.evaluation_reports(params, case, mode, device, refine=mode == "dlcr").result
    index = steps.load_input(steps.layout(params, case).dataset_index, "index", "dataset-index")
    train = index[index["split"] == "train"]
    return {"seed": seed, "seconds": round(time.perf_counter() - started, 1), "rows": comparison_rows(reports["baseline"], reports["dlcr"]),
            "train_ids": int(train["pid"].nunique()), "train_images": len(train), "smoke": smoke}


def markdown(cases: dict) -> str:
    """Per case: its size, then mean ± sd (min..max) over its seeds per method (demo_seeds' table)."""
    from demo_seeds import spread_table

    blocks = []
    for case, entry in cases.items():
        runs = entry["runs"]
        first = runs[0]
        blocks.append(f"**{case}** ({CASES[case][0]} renderer, {first['train_ids']} training identities, "
                      f"{first['train_images']} training images; seeds {', '.join(str(r['seed']) for r in runs)}; "
                      f"{sum(r['seconds'] for r in runs) / len(runs):.0f} s a seed)\n\n" + spread_table(runs))
    return "\n\n".join(blocks)


def record_run(path: Path, case: str, run: dict) -> None:
    """Add (or replace) one seed's run of ``case``, with the machine and its load now."""
    data = read(path)
    entry = data["cases"].setdefault(case, {"runs": []})
    entry["runs"] = sorted([r for r in entry["runs"] if r["seed"] != run["seed"]] + [{**run, **machine()}],
                           key=lambda r: r["seed"])
    write(path, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--work", type=Path, default=PROJECT / "data" / "benchmarks" / "dataset_gain")
    parser.add_argument("--out", type=Path, default=None,
                        help="results JSON (default: benchmarks/results/dataset_gain.json; --smoke: <work>/dataset_gain.json)")
    parser.add_argument("--smoke", action="store_true", help="tiny datasets and two training steps")
    parser.add_argument("--again", action="store_true", help="rerun (case, seed) pairs already recorded")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise SystemExit(f"--cases: unknown {', '.join(unknown)}; known: {', '.join(CASES)}")
    out = args.out or (args.work / "dataset_gain.json" if args.smoke else RESULTS / "dataset_gain.json")
    seeds = [int(s) for s in args.seeds.split(",")]
    for case in cases:
        for seed in seeds:
            recorded = read(out)["cases"].get(case, {}).get("runs", [])
            if not args.again and any(r["seed"] == seed for r in recorded):
                print(f"[dataset_gain] {case} seed {seed}: recorded already (--again to rerun)")
                continue
            print(f"[dataset_gain] {case} seed {seed} ...", flush=True)
            record_run(out, case, run_case(case, seed, args.work, args.smoke, args.device))
    data = read(out)["cases"]
    print(markdown({case: data[case] for case in cases if case in data}))
    print(f"\nrecorded in {out}")


if __name__ == "__main__":
    main()
