"""How far an image moves when it is regenerated in another batch (same seed, same settings).

Every (image, variant) has its own seed, so the same settings and the same batch composition give
the same bytes. Batched kernels are not batch-invariant on every device, though: the same job run
in a batch of 1, 2, 4 or 8 may differ by a level in a few pixels. This script generates the same
jobs with the diffusers backend (a tiny random SD inpainting pipeline, or any pipeline by --model)
at several batch sizes and prints, against batch 1, the largest difference in 8-bit levels and the
fraction of pixels that differ, and whether a rerun at the same batch size is bit-identical.

CPU:  .venv/bin/python benchmarks/batch_invariance.py
GPU:  .venv/bin/python benchmarks/batch_invariance.py --device cuda --dtype fp16 --model <id or path>
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def jobs_for(count: int, width: int, height: int):
    from dlcr_assets.inpainting.base import InpaintJob

    rng = np.random.default_rng(0)
    jobs = []
    for index in range(count):
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        mask = np.zeros((height, width), np.uint8)
        mask[height // 4: 3 * height // 4, width // 4: 3 * width // 4] = 255
        jobs.append(InpaintJob(image=image, mask=Image.fromarray(mask), prompt=f"red shirt {index}", seed=1000 + index))
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="pipeline id or folder (default: a tiny random one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--batch-sizes", default="1,2,4,8")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--height", type=int, default=64)
    args = parser.parse_args()

    from dlcr_assets.inpainting.diffusers_backend import DiffusersInpainter
    from dlcr_assets.params.generation import GenerationParams

    model = args.model
    if model is None:
        from tiny_vision_models import build_tiny_sd_inpainting

        model = str(build_tiny_sd_inpainting(Path(tempfile.mkdtemp(prefix="tiny-sd-")) / "model"))
    jobs = jobs_for(args.jobs, args.width, args.height)
    sizes = [int(size) for size in args.batch_sizes.split(",")]

    def run(batch_size: int) -> list[np.ndarray]:
        params = GenerationParams(backend="diffusers", model_id=model, steps=args.steps, width=args.width,
                                  height=args.height, batch_size=batch_size, dtype=args.dtype)
        inpainter = DiffusersInpainter(params, args.device)
        return [np.asarray(image).astype(int) for image in inpainter.inpaint(jobs)]

    reference = run(sizes[0])
    rerun = run(sizes[0])
    identical = all(np.array_equal(a, b) for a, b in zip(reference, rerun))
    print(f"machine: {platform.machine()} {platform.processor() or ''} device={args.device} dtype={args.dtype} "
          f"model={'tiny random SD inpainting' if args.model is None else args.model}")
    print(f"rerun at batch {sizes[0]}: {'bit-identical' if identical else 'DIFFERENT'}")
    print("| batch | max difference (levels) | pixels differing |")
    print("|---|---|---|")
    for size in sizes[1:]:
        other = run(size)
        difference = np.stack([np.abs(a - b) for a, b in zip(reference, other)])
        print(f"| {size} vs {sizes[0]} | {difference.max()} | {(difference.max(axis=-1) > 0).mean():.4%} |")


if __name__ == "__main__":
    main()
