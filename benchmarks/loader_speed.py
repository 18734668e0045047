"""Training input pipeline: images/s the loader delivers (real + generated pairs) vs images/s the model consumes.

Demo settings (TrainingParams defaults: ResNet-18, 128x64, P=8 x K=4, DLCR pairs -> 64 images a
step). Draws a small dataset of PNGs in a temp folder, then measures in one run:
  * loader: DataLoader over the PK sampler, decode + CAL augmentations of both halves, no model;
  * model: one training step (forward, losses, backward, Adam) on an already-loaded batch;
  * end to end: ReidTrainer.train_one_epoch (loader and model together).
The ratio loader/model > 1 means the loader is not the bottleneck.

    .venv/bin/python benchmarks/loader_speed.py [--steps 6] [--workers 0 2]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

os.environ.setdefault("TQDM_DISABLE", "1")  # one line per figure, no progress bars
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from training_support import make_index, make_manifest  # noqa: E402

from dlcr_reid.params import EvaluationParams, TrackingParams, TrainingParams  # noqa: E402
from dlcr_reid.training import ReidTrainer  # noqa: E402
from dlcr_reid.training.data import ReidTrainingSet, collate_pairs  # noqa: E402
from dlcr_reid.training.sampler import PKBatchSampler  # noqa: E402


def loader_images_per_s(train_set, params, workers: int, steps: int) -> float:
    sampler = PKBatchSampler(train_set.pids, params.ids_per_batch, params.images_per_id, seed=0, max_batches=steps)
    loader = DataLoader(train_set, batch_sampler=sampler, collate_fn=collate_pairs, num_workers=workers)
    started, images = time.perf_counter(), 0
    for batch in loader:
        images += batch["real"].shape[0] + batch["generated"].shape[0]
    return images / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # 32 identities x 2 outfits x 4 shots = 256 training images of 128x64, 4 variants each
        index = make_index(root / "raw", train_ids=32, images_per_outfit=4, test_ids=2)
        from PIL import Image

        # the test helper draws 32x16 people; enlarge them to the demo's 128x64

        for path in index["path"]:
            Image.open(path).resize((64, 128)).save(path)
        manifest = make_manifest(index, root / "generated", variants=4, skip_every=10**9)
        for path in manifest.loc[manifest["status"] == "ok", "path"]:
            Image.open(path).resize((64, 128)).save(path)
        params = TrainingParams(max_steps_per_epoch=args.steps, cal_start_epoch=0, eval_every=0)
        train_set = ReidTrainingSet(index, manifest, params)
        print(f"demo settings: {params.backbone} {params.height}x{params.width}, P={params.ids_per_batch} "
              f"K={params.images_per_id}, DLCR pairs -> {2 * params.batch_images} images/step, "
              f"{args.threads} torch threads")
        loader_rates = {w: loader_images_per_s(train_set, params, w, args.steps) for w in args.workers}
        for workers, rate in loader_rates.items():
            print(f"loader, {workers} workers: {rate:8.1f} images/s")

        trainer = ReidTrainer(index, manifest, params, EvaluationParams(), TrackingParams(enabled=False),
                              root / "out", "dlcr", device="cpu")
        batch = next(iter(trainer.loader))
        trainer.sampler.set_epoch(0)
        # model alone: train steps re-using one loaded batch (a 1-batch loader stand-in)
        trainer.loader = [batch] * args.steps
        trainer.train_one_epoch(0)  # warm-up
        row = trainer.train_one_epoch(0)
        model_rate = row["images_per_s"]
        print(f"model (train step, CAL on): {model_rate:8.1f} images/s, {row['s_per_step']:.3f} s/step")
        baseline = ReidTrainer(index, None, params, EvaluationParams(), TrackingParams(enabled=False),
                               root / "out-b", "baseline", device="cpu")
        baseline.loader = [next(iter(baseline.loader))] * args.steps
        baseline.train_one_epoch(0)
        baseline_row = baseline.train_one_epoch(0)
        print(f"model, baseline (32 real/step): {baseline_row['images_per_s']:8.1f} images/s, "
              f"{baseline_row['s_per_step']:.3f} s/step")
        for workers, rate in loader_rates.items():
            print(f"ratio loader/model, {workers} workers: {rate / model_rate:.1f}x")
        end_to_end = ReidTrainer(index, manifest, params.model_copy(update={"num_workers": max(args.workers)}),
                                 EvaluationParams(), TrackingParams(enabled=False), root / "out-e", "dlcr", device="cpu")
        end_row = end_to_end.train_one_epoch(0)
        print(f"end to end (loader {max(args.workers)} workers + model): {end_row['images_per_s']:8.1f} images/s, "
              f"{end_row['s_per_step']:.3f} s/step")


if __name__ == "__main__":
    main()
