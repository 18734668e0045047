"""Plan cache: planning a large synthetic generation cold vs reading the cached plan (issue 10 item 2).

Synthetic tables as in manifest_resume.py (no image files needed: planning reads tables only).
Prints the cold plan (plan + save), the cached read (a ColumnarPlan: no object per image), the key
computation alone, the columns the resume phases then read, and what building every object would
add; wall and CPU seconds of this process.
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
from recorded import RESULTS, record

from dlcr_assets.generation.columnar import plan_column
from dlcr_assets.generation.plan_cache import cached_plan, plan_key
from dlcr_assets.params.generation import GenerationParams


class Clock:
    """Wall and CPU seconds of a block (CPU time is this process's own: a fair figure on a shared machine)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--variants", type=int, default=10)
    parser.add_argument("--outfits", type=int, default=2_000)
    parser.add_argument("--out", type=Path, default=RESULTS / "plan_cache.json", help="results JSON (a case per plan size)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="plan-cache-"))
    try:
        index, masks, prompts = bench_tables(work, args.images, args.outfits)
        params = GenerationParams(variants_per_image=args.variants, pool="dataset")
        out_dir = work / "generated" / "bench"
        load_start = [round(x, 1) for x in os.getloadavg()]
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
        with Clock() as cold_clock:
            cold = cached_plan(index, masks, prompts, params, out_dir, "bench")
        print(f"cold: {len(cold):,} images planned and cached in {cold_clock}")
        with Clock() as warm_clock:
            warm = cached_plan(index, masks, prompts, params, out_dir, "bench")
        print(f"cached: {len(warm):,} images read back as a {type(warm).__name__} in {warm_clock}")
        with Clock() as key_clock:
            plan_key(index, masks, prompts, params, out_dir, "bench", (0, 1))
        print(f"  of which the cache key (hashing the three tables): {key_clock}")
        with Clock() as columns_clock:
            for name in ("source_path", "mask_path", "prompt", "seed", "path"):
                plan_column(warm, name)
        print(f"the five columns the resume phases read, as Python lists: {columns_clock}")
        again = cached_plan(index, masks, prompts, params, out_dir, "bench")
        with Clock() as objects_clock:
            objects = list(again)  # every column converted, then one object per image
        print(f"every planned image as an object, from a fresh read (what a cache read cost before ColumnarPlan): "
              f"{objects_clock}")
        print(f"cached read: {(warm_clock.cpu + objects_clock.cpu) / warm_clock.cpu:.1f}x less CPU than reading "
              f"and building every object, {(warm_clock.wall + objects_clock.wall) / warm_clock.wall:.1f}x less wall time")
        assert objects == cold and warm == cold
        record(args.out, f"{len(cold)}", {
            "command": f"benchmarks/plan_cache.py --images {args.images} --variants {args.variants} --outfits {args.outfits}",
            "planned": len(cold), "load_average_start": load_start,
            "seconds": {name: {"wall": round(clock.wall, 2), "cpu": round(clock.cpu, 2)} for name, clock in
                        [("cold", cold_clock), ("cached", warm_clock), ("key", key_clock), ("columns", columns_clock),
                         ("objects", objects_clock)]}})
    finally:
        shutil.rmtree(work, ignore_errors=True)


STEPS = {"cold": "cold: plan every image and save the cache", "cached": "cached: key + read back as a ColumnarPlan",
         "key": "of which the cache key (hashing the three tables)",
         "columns": "then: the five columns the resume phases read, as Python lists",
         "objects": "before ColumnarPlan, a cached read also built every PlannedImage (a fresh read, all columns)"}


def markdown(entry: dict) -> str:
    """The recorded case as a table (scripts/readme_tables.py puts it into benchmarks/README.md)."""
    lines = ["| step | wall | CPU (this process) |", "|---|---|---|"]
    lines += [f"| {STEPS[name]} | {t['wall']:.2f} s | {t['cpu']:.2f} s |" for name, t in entry["seconds"].items()]
    cached, objects = entry["seconds"]["cached"], entry["seconds"]["objects"]
    lines += ["", f"{entry['planned']:,} planned images; the cached read takes "
              f"{(cached['cpu'] + objects['cpu']) / cached['cpu']:.1f}x less CPU than a read that builds every object. "
              f"Measured by `{entry['command']}`; {entry['machine']}, load average {entry['load_average_start']} at "
              f"the start and {entry['load_average']} at the end."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
