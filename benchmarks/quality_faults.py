"""Fault injection: precision and recall of the generation-quality filter per fault kind (issue 8).

Builds a small embedded (synthetic) dataset, its clothing masks and prompts, generates variants
with the recolor backend, trains a tiny baseline reference checkpoint, then replaces a known
fraction of the generated variants with faulty images (another identity composited in the mask,
an unchanged copy, noise in the mask, a change outside the mask: ``dlcr_assets.quality.faults``),
scores everything (the identity rules on unless ``--identity off``), prints the markdown tables and records
them as a named case in ``benchmarks/results/quality_faults.json`` (``scripts/readme_tables.py`` puts
them into ``benchmarks/README.md``).

    .venv/bin/python benchmarks/quality_faults.py --train-ids 12 --fraction 0.3

A few minutes on a 2-core CPU at the default size.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from recorded import RESULTS, number, record
from recorded import case as case_of

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))


def prepare(work: Path, train_ids: int = 12, epochs: int = 10, variants: int = 2, seed: int = 0,
            checkpoint: Path | None = None) -> dict:
    """Dataset, masks, prompts, generated manifest and a baseline reference checkpoint under ``work``."""
    from dlcr_assets.descriptions import describe_clothing
    from dlcr_assets.generation import generate_images
    from dlcr_assets.masks import make_clothing_masks
    from dlcr_assets.params.descriptions import DescriptionsParams
    from dlcr_assets.params.generation import GenerationParams
    from dlcr_assets.params.masks import MasksParams
    from dlcr_assets.params.prompts import PromptsParams
    from dlcr_assets.prompts import build_prompt_table
    from dlcr_reid.datasets import index_dataset, write_synthetic_dataset
    from dlcr_reid.params import EvaluationParams, TrackingParams, TrainingParams
    from dlcr_reid.params.datasets import DatasetSpec
    from dlcr_reid.params.synthetic import SyntheticParams
    from dlcr_reid.training import train_reid

    work = Path(work)
    root = work / "raw" / "synthetic"
    synthetic = SyntheticParams(root=root, seed=seed, train_ids=train_ids, test_ids=4, outfits_per_id=3, cameras=3,
                                train_cameras_per_outfit=2, train_images_per_camera=2, gallery_outfits=2,
                                gallery_cameras_per_outfit=2, gallery_images_per_camera=1,
                                query_images_per_outfit=1, height=64, width=32)
    if not (root / "synthetic.json").is_file():
        write_synthetic_dataset(synthetic)
    index = index_dataset("synthetic", DatasetSpec(format="synthetic", root=root))
    masks = make_clothing_masks(index, MasksParams(splits=["train"]), work / "masks", device="cpu")
    descriptions = describe_clothing(index, DescriptionsParams(), device="cpu")
    prompts = build_prompt_table(descriptions, PromptsParams(), device="cpu")
    manifest = generate_images(index, masks, prompts, GenerationParams(variants_per_image=variants, seed=seed),
                               work / "generated", work / "generated.parquet", device="cpu", dataset="synthetic")
    checkpoint = Path(checkpoint or work / "baseline" / "best.safetensors")
    if not checkpoint.is_file():
        training = TrainingParams(backbone="resnet18", weights="none", height=64, width=32, ids_per_batch=4,
                                  images_per_id=2, epochs=epochs, milestones=[max(1, epochs * 3 // 4)],
                                  cal_start_epoch=epochs // 2,
                                  eval_every=0, num_workers=0, seed=seed, keep_checkpoints=1)
        result = train_reid(index, None, training, EvaluationParams(), TrackingParams(enabled=False),
                            work / "baseline", "baseline", device="cpu")
        checkpoint = Path(result.best_checkpoint)
    return dict(index=index, masks=masks, manifest=manifest, checkpoint=checkpoint)


def run(work: Path, case: dict, fraction: float, seed: int = 0, params=None):
    """(per-kind table, quality table, faulty manifest) after injecting ``fraction`` faults into the case's manifest."""
    from dlcr_assets.params.quality import QualityParams
    from dlcr_assets.quality import score_generated_images
    from dlcr_assets.quality.faults import filter_scores, inject_faults

    faulty = inject_faults(case["manifest"], case["index"], case["masks"], Path(work) / "faults", fraction, seed=seed)
    quality = score_generated_images(case["index"], case["masks"], faulty, case["checkpoint"],
                                     params or QualityParams(), Path(work) / "quality" / "synthetic.parquet",
                                     device="cpu")
    return filter_scores(quality, faulty), quality, faulty


# each rule of the policy alone (the others off): what it keeps of the CLEAN variants
OFF = dict(require_nearest_identity=False, identity_quantile=None, clothes_quantile=None, entropy_quantile=None,
           max_leaked_pixels=None)
RULES = {"identity nearest": dict(require_nearest_identity=True), "identity cosine": dict(identity_quantile=0.05),
         "unchanged (clothes distance)": dict(clothes_quantile=0.5), "noise (colour entropy)": dict(entropy_quantile=0.99),
         "leak (outside the mask)": dict(max_leaked_pixels=0)}


def rule_kept_fractions(quality, faulty) -> list[dict]:
    """Per rule alone: the kept fraction of clean variants and the dropped fraction per fault kind."""
    from dlcr_assets.params.quality import QualityParams
    from dlcr_assets.quality import decide
    from dlcr_assets.quality.faults import FAULTS

    fault_of = dict(zip(faulty["path"], faulty["fault"]))
    kinds = quality["path"].map(fault_of)
    clean = kinds.isna().to_numpy()
    rows = []
    for name, on in RULES.items():
        kept = decide(quality, QualityParams(**{**OFF, **on}))["kept"].to_numpy()
        dropped = {kind: float((~kept[(kinds == kind).to_numpy()]).mean()) if (kinds == kind).any() else None
                   for kind in FAULTS}
        rows.append(dict(rule=name, clean_kept=int(kept[clean].sum()), clean=int(clean.sum()), dropped=dropped))
    return rows


def rules_markdown(rows: list[dict]) -> str:
    kinds = list(rows[0]["dropped"]) if rows else []
    lines = ["| rule (alone) | clean kept | " + " | ".join(f"{k} dropped" for k in kinds) + " |",
             "|---|---|" + "---|" * len(kinds)]
    for row in rows:
        lines.append(f"| {row['rule']} | {row['clean_kept'] / row['clean']:.2f} ({row['clean_kept']}/{row['clean']}) | "
                     + " | ".join(number(row["dropped"][k]) for k in kinds) + " |")
    return "\n".join(lines)


def scores_markdown(rows: list[dict]) -> str:
    lines = ["| fault | injected | dropped | recall | precision | reasons of the drops |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['fault']} | {row['injected']} | {row['caught']} | {number(row['recall'])} | "
                     f"{number(row['precision'])} | {row['reasons']} |")
    return "\n".join(lines)


def case_note(entry: dict) -> str:
    """Under a recorded table: the command that measured it, its times and the machine's load."""
    a = entry["args"]
    return (f"Measured by `benchmarks/quality_faults.py --train-ids {a['train_ids']} --epochs {a['epochs']} "
            f"--variants {a['variants']} --fraction {a['fraction']} --seed {a['seed']} --identity {a['identity']}`: "
            f"{entry['scored']} generated images scored, {entry['kept']} kept; prepare {entry['prepare_s']:.0f} s "
            f"({'training the reference included' if entry['reference_trained'] else 'the reference was already trained'}), "
            f"score {entry['score_s']:.0f} s; "
            f"{entry['machine']}, load average {entry['load_average']} at the end.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=PROJECT / "data" / "benchmarks" / "quality_faults")
    parser.add_argument("--train-ids", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="reference checkpoint to use instead of training one (must know these identities)")
    parser.add_argument("--identity", choices=["on", "off"], default="on", help="off: the identity rules disabled")
    parser.add_argument("--name", default=None, help="the case's name in --out (default: ids<N>-e<E>-identity-<on|off>)")
    parser.add_argument("--out", type=Path, default=RESULTS / "quality_faults.json")
    args = parser.parse_args()
    started = time.perf_counter()
    from dlcr_assets.params.quality import QualityParams

    reference_there = Path(args.checkpoint or args.work / "baseline" / "best.safetensors").is_file()
    case = prepare(args.work, args.train_ids, args.epochs, args.variants, args.seed, args.checkpoint)
    prepared = time.perf_counter()
    # "on": the identity rules as the issue specifies them (off in QualityParams' defaults: see its docstring)
    params = QualityParams(require_nearest_identity=True, identity_quantile=0.05) if args.identity == "on" \
        else QualityParams(require_nearest_identity=False, identity_quantile=None)
    scores, quality, faulty = run(args.work, case, args.fraction, args.seed, params)
    entry = dict(args={k: getattr(args, k) for k in ("train_ids", "epochs", "variants", "fraction", "seed", "identity")},
                 scores=json.loads(scores.to_json(orient="records")), rules=rule_kept_fractions(quality, faulty),
                 scored=len(quality), kept=int(quality["kept"].sum()), prepare_s=round(prepared - started, 1),
                 score_s=round(time.perf_counter() - prepared, 1), reference_trained=not reference_there)
    print(scores_markdown(entry["scores"]))
    print()
    print(rules_markdown(entry["rules"]))
    print()
    name = args.name or f"ids{args.train_ids}-e{args.epochs}-identity-{args.identity}"
    record(args.out, name, entry)
    print(case_note(case_of(args.out, name)))


if __name__ == "__main__":
    main()
