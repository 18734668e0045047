"""Resume check at full scale: a 2M-row manifest (200k images x 10 variants) against a 2M-image plan.

Times what a re-run of `dlcr generated-images` does before generating anything: plan the 2M images
(outfit draws, seeds, paths), fingerprint them (one stat per input file against the digest cache,
one short hash per image) and split them into done / pending / stale (read path, status and
fingerprint of the merged manifest, list the output folders, compare). Target for the resume
check: under 10 s.

Creating 2M real files takes ~15 minutes on this VM, so only ``--files`` of the planned images are
put on disk (the rest are pending); the folder listing cost per entry is measured and extrapolated
to 2M entries, and printed separately.

    .venv/bin/python benchmarks/manifest_resume.py [--images 200000] [--variants 10] [--files 20000]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from dlcr_assets.fingerprint import FileDigests
from dlcr_assets.generation.manifest import as_manifest
from dlcr_assets.generation.planning import plan_generation
from dlcr_assets.generation.resume import digests_path, fingerprint_plan, split_done
from dlcr_assets.inpainting.recolor import RecolorInpainter
from dlcr_assets.params.generation import GenerationParams
from dlcr_reid.io import save_table


def bench_tables(work: Path, images: int, outfits: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(index, masks, prompts) of a synthetic dataset of ``images`` training images (1000 ids, 2 outfits
    each) and a prompt pool of ``outfits``; nothing on disk (the paths lie under ``work``)."""
    raw = work / "raw" / "train"
    paths = [str(raw / f"{i // 10:06d}_{i % 10}_c1_{i:07d}.png") for i in range(images)]
    index = pd.DataFrame({"path": paths, "pid": [i % 1000 for i in range(images)],
                          "clothes_id": [(i % 1000) * 2 + (i // 1000) % 2 for i in range(images)],
                          "split": "train", "dataset": "bench"})
    masks = pd.DataFrame({"path": paths, "mask_path": [p.replace("/raw/", "/masks/") for p in paths],
                          "parsing_path": None, "coverage": 0.4, "status": "ok", "error": None})
    prompts = pd.DataFrame({"outfit_key": [f"{o // 2}_{o}" for o in range(outfits)],
                            "pid": [o // 2 for o in range(outfits)], "clothes_id": list(range(outfits)),
                            "prompt": [f"colour{o} t-shirt, black trousers" for o in range(outfits)],
                            "source": "dataset"})
    return index, masks, prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--variants", type=int, default=10)
    parser.add_argument("--outfits", type=int, default=2_000)
    parser.add_argument("--files", type=int, default=20_000, help="planned images actually written to disk")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="manifest-resume-"))
    try:
        index, masks, prompts = bench_tables(work, args.images, args.outfits)
        params = GenerationParams(variants_per_image=args.variants, pool="dataset")
        out_dir, manifest_path = work / "generated" / "bench", work / "generated" / "bench.parquet"

        start, cpu = time.perf_counter(), time.process_time()
        plan = plan_generation(index, masks, prompts, params, out_dir, "bench")
        plan_s, plan_cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"plan: {len(plan):,} images planned in {plan_s:.2f} s wall ({plan_cpu:.2f} s CPU)")

        inpainter = RecolorInpainter()
        digests = FileDigests(digests_path(out_dir, (0, 1)))
        fingerprint_plan(plan, inpainter, digests)  # the first run's fingerprints, recorded in its rows
        rows = pd.DataFrame({"dataset": "bench", "source_path": [p.source_path for p in plan],
                             "variant": [p.variant for p in plan], "outfit_key": [p.outfit_key for p in plan],
                             "prompt": [p.prompt for p in plan], "seed": [p.seed for p in plan], "backend": "diffusers",
                             "model_id": params.model_id, "path": [p.path for p in plan], "status": "ok", "error": None,
                             "fingerprint": [p.fingerprint for p in plan]})
        save_table(as_manifest(rows), manifest_path)
        print(f"manifest: {len(rows):,} rows, {manifest_path.stat().st_size / 1e6:.0f} MB parquet")
        folder = Path(plan[0].path).parent
        folder.mkdir(parents=True, exist_ok=True)
        for job in plan[: args.files]:
            os.close(os.open(job.path, os.O_CREAT | os.O_WRONLY))

        start, cpu = time.perf_counter(), time.process_time()
        fingerprint_plan(plan, inpainter, FileDigests(digests_path(out_dir, (0, 1))))
        fingerprint_s = time.perf_counter() - start
        split = split_done(plan, out_dir, manifest_path)
        resume_s, resume_cpu = time.perf_counter() - start, time.process_time() - cpu
        pending = split.pending
        assert len(pending) == len(plan) - args.files and not split.adopted and not split.stale
        print(f"fingerprints: {len(plan):,} images in {fingerprint_s:.2f} s wall (part of the resume check)")
        start = time.perf_counter()
        for _ in range(5):
            with os.scandir(folder) as entries:
                listed = sum(1 for _ in entries)
        per_entry = (time.perf_counter() - start) / 5 / listed
        extra = per_entry * (len(plan) - args.files)
        print(f"resume check: {resume_s:.2f} s wall, {resume_cpu:.2f} s CPU ({len(plan) - len(pending):,} done, {len(pending):,} pending)")
        print(f"folder listing: {per_entry * 1e6:.2f} us/entry -> +{extra:.2f} s if all {len(plan):,} files were on disk")
        print(f"resume check extrapolated to 2M files on disk: {resume_s + extra:.2f} s wall, "
              f"{resume_cpu + extra:.2f} s CPU (target < 10 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
