"""The quality filter's effect on training (issue 8): DLCR on an expansion with injected faults, filter off vs on.

Runs the pipeline's steps on the embedded (synthetic) dataset in a work folder (params.yaml's
settings, or a seconds-long size with ``--smoke``): index, descriptions, prompts, masks, the
first pass, query variants and the baseline (the quality step's reference model). Then a known
fraction of the generated variants is overwritten in place with faults (``dlcr_assets.quality.faults``:
another identity composited in the mask, an unchanged copy, noise in the mask, a change outside
it), `generation_quality` scores them, and DLCR is trained twice on the same faulty expansion,
``quality.filter`` off and on, from the same seed. Both are evaluated without refinement (so the
number is the training's effect only) and the CC top-1 of each, their difference and ratio are
printed, with the filter's recall per fault kind, and recorded as a named case in
``benchmarks/results/quality_training.json`` (``scripts/readme_tables.py`` puts it into ``benchmarks/README.md``).

    .venv/bin/python benchmarks/quality_training.py                      # params.yaml's sizes (long on CPU)
    .venv/bin/python benchmarks/quality_training.py --smoke --work /tmp/qt   # a tiny run, minutes
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from recorded import RESULTS, number, record

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
DATASET = "synthetic"

# --smoke: the orchestration tests' tiny size (6 training identities, 64x32, one short epoch)
SMOKE = ["synthetic.train_ids=6", "synthetic.test_ids=4", "synthetic.outfits_per_id=3", "synthetic.cameras=3",
         "synthetic.train_cameras_per_outfit=1", "synthetic.train_images_per_camera=2", "synthetic.gallery_outfits=1",
         "synthetic.gallery_cameras_per_outfit=1", "synthetic.gallery_images_per_camera=1",
         "synthetic.query_images_per_outfit=1", "synthetic.height=64", "synthetic.width=32",
         "generation.variants_per_image=2", "generation.query_variants=2", "generation.width=32", "generation.height=64",
         "training.epochs=1", "training.ids_per_batch=3", "training.images_per_id=2", "training.height=64",
         "training.width=32", "training.milestones=[1]", "training.cal_start_epoch=0", "training.max_steps_per_epoch=2", "training.min_steps=null",
         "evaluation.batch_size=32"]


def load(work: Path, params_path: Path | None, overrides: list[str]):
    """params.yaml (or ``params_path``) with every path under ``work``, tracking off, one shard."""
    from dlcr_assets.params import load_params

    data = Path(work) / "data"
    placed = [f"data_dir={data}", f"synthetic.root={data / 'raw' / 'synthetic'}", "generation.shards=1",
              "tracking.enabled=false", f"orchestration.watch_root={data / 'raw'}",
              f"datasets={{{DATASET}: {{format: synthetic, root: {data / 'raw' / 'synthetic'}}}}}"]
    return load_params(params_path or PROJECT / "params.yaml", [*placed, *overrides])


def prepare(params, device: str) -> None:
    """Every step up to the baseline checkpoint (skipped where its output exists: a rerun resumes)."""
    from dlcr_assets import steps

    paths = steps.layout(params, DATASET)
    if not (Path(params.synthetic.root) / "synthetic.json").is_file():
        steps.synthetic_dataset(params)
    steps.dataset_index(params, DATASET)
    for step in (steps.clothing_descriptions, steps.clothing_prompts, steps.clothing_masks, steps.generated_images,
                 steps.query_variants):
        step(params, DATASET, device=device)
    if not paths.best_checkpoint("baseline").is_file():
        steps.reid_checkpoint(params, DATASET, "baseline", device)


def inject(params, fraction: float, seed: int):
    """Overwrite ``fraction`` of the generated variants in place with faults; the manifest with a ``fault`` column."""
    import pandas as pd

    from dlcr_assets import steps
    from dlcr_assets.quality.faults import inject_faults

    paths = steps.layout(params, DATASET)
    manifest = pd.read_parquet(paths.generated_images)
    if "fault" in manifest.columns or (paths.generated_images_dir / "faults.parquet").is_file():
        raise SystemExit(f"{paths.generated_images_dir} already holds injected faults: use a fresh --work")
    staged = Path(paths.data_dir).parent / "faults"
    faulty = inject_faults(manifest, pd.read_parquet(paths.dataset_index), pd.read_parquet(paths.clothing_masks),
                           staged, fraction, seed=seed)
    for original, row in zip(manifest["path"], faulty.itertuples()):
        if isinstance(row.fault, str):  # the faulty image takes the variant's place: the manifest stays as it is
            shutil.copyfile(row.path, original)
    faulty["path"] = manifest["path"].to_numpy()
    faulty.to_parquet(paths.generated_images_dir / "faults.parquet")  # a note of what was injected
    return faulty


def cc_top1(params, device: str, filtered: bool) -> tuple[float, int]:
    """(CC top-1 without refinement, generated variants trained on) of DLCR with ``quality.filter`` = ``filtered``."""
    from dlcr_assets import steps

    run_params = params.model_copy(update={"quality": params.quality.model_copy(update={"filter": filtered})})
    trained = steps.reid_checkpoint(run_params, DATASET, "dlcr", device)
    report = steps.evaluation_reports(run_params, DATASET, "dlcr", device, refine=False).result
    used = trained.extra["manifest"]
    return float(report["protocols"]["cc"]["top1"]), int((used["status"] == "ok").sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=PROJECT / "data" / "benchmarks" / "quality_training")
    parser.add_argument("--params", type=Path, default=None, help="params file (default: the project's params.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--smoke", action="store_true", help="the tiny size of the orchestration tests")
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--name", default=None, help="the case's name in --out (default: smoke or params)")
    parser.add_argument("--out", type=Path, default=RESULTS / "quality_training.json")
    args = parser.parse_args()
    from dlcr_assets import steps
    from dlcr_assets.quality.faults import filter_scores

    started = time.perf_counter()
    params = load(args.work, args.params, [*(SMOKE if args.smoke else []), *args.overrides])
    prepare(params, args.device)
    faulty = inject(params, args.fraction, args.seed)
    quality = steps.generation_quality(params, DATASET, args.device).result
    prepared = time.perf_counter()
    off, used_off = cc_top1(params, args.device, filtered=False)
    on, used_on = cc_top1(params, args.device, filtered=True)
    scores = filter_scores(quality[quality["manifest"] == "generated_images"], faulty)
    entry = dict(command=" ".join(["benchmarks/quality_training.py", *sys.argv[1:]]), smoke=args.smoke,
                 fraction=args.fraction, training_seed=params.training.seed, generation_seed=params.generation.seed,
                 scores=json.loads(scores.to_json(orient="records")),
                 training={"filter off": {"cc_top1": off, "variants": used_off},
                           "filter on": {"cc_top1": on, "variants": used_on}},
                 prepare_s=round(prepared - started, 1), training_s=round(time.perf_counter() - prepared, 1))
    print(markdown(entry))
    print(f"on - off = {on - off:+.2f} points; on / off = {on / off if off else float('nan'):.3f}")
    record(args.out, args.name or ("smoke" if args.smoke else "params"), entry)


def markdown(entry: dict) -> str:
    """The filter's recall per fault kind, then CC top-1 with the filter off and on."""
    lines = ["| fault | injected | dropped | recall |", "|---|---|---|---|"]
    lines += [f"| {row['fault']} | {row['injected']} | {row['caught']} | {number(row['recall'])} |" for row in entry["scores"]]
    lines += ["", f"| DLCR, {entry['fraction']:.0%} faults | generated variants trained on | CC top-1 |", "|---|---|---|"]
    lines += [f"| {name} | {run['variants']} | {run['cc_top1']:.2f} |" for name, run in entry["training"].items()]
    lines += ["", f"Measured by `{entry['command']}` (training seed {entry['training_seed']}, generation seed "
              f"{entry['generation_seed']}): prepare + score {entry['prepare_s']:.0f} s, two trainings "
              f"{entry['training_s']:.0f} s; {entry['machine']}, load average {entry['load_average']} at the end."
              if "machine" in entry else ""]
    return "\n".join(lines).rstrip()


if __name__ == "__main__":
    main()
