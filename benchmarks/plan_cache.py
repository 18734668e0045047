"""Plan cache: planning a large synthetic generation cold vs reading the cached plan (issue 10 item 2).

Synthetic tables as in manifest_resume.py (no image files needed: planning reads tables only).
Prints the cold plan (plan + save), the cached read, and the key computation alone.
Usage: python benchmarks/plan_cache.py --images 200000 --variants 10   (2M planned images)
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from manifest_resume import bench_tables  # the same synthetic tables as the resume benchmark

from dlcr_assets.generation.plan_cache import cached_plan, plan_key
from dlcr_assets.params.generation import GenerationParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--variants", type=int, default=10)
    parser.add_argument("--outfits", type=int, default=2_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="plan-cache-"))
    try:
        index, masks, prompts = bench_tables(work, args.images, args.outfits)
        params = GenerationParams(variants_per_image=args.variants, pool="dataset")
        out_dir = work / "generated" / "bench"
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
        start = time.perf_counter()
        cold = cached_plan(index, masks, prompts, params, out_dir, "bench")
        print(f"cold: {len(cold):,} images planned and cached in {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        warm = cached_plan(index, masks, prompts, params, out_dir, "bench")
        print(f"cached: {len(warm):,} images read back in {time.perf_counter() - start:.2f} s")
        assert warm == cold
        start = time.perf_counter()
        plan_key(index, masks, prompts, params, out_dir, "bench", (0, 1))
        print(f"  of which the cache key (hashing the three tables): {time.perf_counter() - start:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
