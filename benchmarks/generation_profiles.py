"""Paper vs fast generation profile on the full-size SD 1.5 inpainting architecture (random weights): seconds per image.

One run times each profile's generation settings through the project's own DiffusersInpainter (the
scheduler, dtype, attention, channels_last, torch.compile and DeepCache switches exactly as `dlcr
generated-images` sets them) on one in-memory SD 1.5 inpainting pipeline with random weights
(benchmarks/sd15_cpu.py builds it from the released checkpoint's architecture: the same compute as
the real model), and prints the fast/paper ratio. Random weights measure speed only: they say
nothing of the quality at 20 steps; compare that on your checkpoint (README, "Fast generation").

CPU (this machine):  .venv/bin/python benchmarks/generation_profiles.py
  64x128 (w x h), batch 1; paper fp16 runs as fp32 on CPU and fast's dtype auto is fp32 there too,
  so the CPU ratio is the sampler's (steps) plus channels_last.
GPU (a lent one):    .venv/bin/python benchmarks/generation_profiles.py --device cuda --width 256 \\
                         --height 768 --batch-sizes 1,2,4,8,16,32 [--deepcache] [--compile]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sd15_cpu import build_sd15_inpainting  # noqa: E402

from dlcr_assets.inpainting.base import InpaintJob  # noqa: E402
from dlcr_assets.inpainting.diffusers_backend import DiffusersInpainter  # noqa: E402
from dlcr_assets.inpainting.speed import pipeline_dtype  # noqa: E402
from dlcr_assets.params import load_params  # noqa: E402

PROMPT = "red coat, white t-shirt, navy trousers, black shoes"


def variants(args) -> list[tuple[str, list[str]]]:
    """(name, overrides) of each timed configuration: the two profiles, fast with UniPC (the other
    20-step sampler of SPEC §3), and the opt-in switches."""
    rows = [("paper", ["profile=paper"]), ("fast", ["profile=fast"]),
            ("fast/unipc", ["profile=fast", "generation.scheduler=unipc"])]
    if args.deepcache:
        rows.append(("fast+deepcache", ["profile=fast", "generation.deepcache.enabled=true"]))
    if args.compile:
        rows.append(("fast+compile", ["profile=fast", "generation.compile=true"]))
    return rows


def undo_switches(pipe, scheduler) -> None:
    """Back to the pipeline as built: its scheduler, no wrapped forwards (DeepCache, compile), NCHW."""
    pipe.scheduler = scheduler
    for module in [*pipe.unet.modules(), *pipe.vae.modules()]:
        module.__dict__.pop("forward", None)
    pipe.unet.to(memory_format=torch.contiguous_format)
    pipe.vae.to(memory_format=torch.contiguous_format)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--batch-sizes", default="1", help="comma list, e.g. 1,2,4,8,16,32")
    parser.add_argument("--step-scale", type=float, default=1.0,
                        help="multiply every profile's steps (e.g. 0.2: paper 10, fast 4) to fit a slow machine")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--deepcache", action="store_true", help="also time fast + DeepCache (interval 3, branch 0)")
    parser.add_argument("--compile", action="store_true", help="also time fast + torch.compile (compile not timed)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    # quiet: the per-call notes (dtype casts, truncated prompts) would bury the table
    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()
    cuda = args.device.startswith("cuda")
    size = [f"generation.width={args.width}", f"generation.height={args.height}"]

    pipe = build_sd15_inpainting(torch.float32, args.device)
    scheduler = pipe.scheduler
    unet_params = sum(p.numel() for p in pipe.unet.parameters()) / 1e6
    machine = torch.cuda.get_device_name(0) if cuda else f"{platform.machine()} CPU, torch threads {torch.get_num_threads()}"
    print(f"SD 1.5 inpainting, full-size architecture, random weights (UNet {unet_params:.0f}M params) on {machine}; "
          f"{args.width}x{args.height} (w x h)" + (f"; every profile's steps x {args.step_scale:g}" if args.step_scale != 1 else
                                                   "; steps as the profiles set them"))
    image = Image.effect_noise((args.width, args.height), 40).convert("RGB")
    mask = Image.new("L", (args.width, args.height), 0)
    mask.paste(255, (0, args.height // 5, args.width, args.height))
    print(f"{'profile':15s} {'scheduler':9s} {'steps':>5s} {'dtype':8s} {'batch':>5s} {'s/image':>8s} {'images/s':>8s}"
          + (f" {'peak GiB':>8s}" if cuda else ""))
    results = []
    for name, overrides in variants(args):
        params = load_params(ROOT / "params.yaml", [*overrides, *size]).generation
        params = params.model_copy(update={"steps": max(1, round(params.steps * args.step_scale))})
        undo_switches(pipe, scheduler)
        pipe.to(dtype=pipeline_dtype(params.dtype, args.device))
        inpainter = DiffusersInpainter(params, args.device, pipe=pipe)
        batches = [int(b) for b in args.batch_sizes.split(",")]
        if params.batch_size == "auto" and cuda:
            print(f"{name}: batch_size auto = {inpainter.batch_size} on this device")
        for batch in batches:
            jobs = [InpaintJob(image=image, mask=mask, prompt=PROMPT, seed=i) for i in range(batch)]
            inpainter.batch_size = batch
            try:
                inpainter.inpaint(jobs)  # warm-up: kernels, allocator, the compile when it is on
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                start = time.perf_counter()
                for _ in range(args.repeats):
                    inpainter.inpaint(jobs)
                if cuda:
                    torch.cuda.synchronize()
                seconds = (time.perf_counter() - start) / args.repeats
            except torch.OutOfMemoryError:
                print(f"{name:15s} batch {batch}: out of memory")
                continue
            row = {"profile": name, "scheduler": params.scheduler, "steps": params.steps, "dtype": inpainter.dtype,
                   "batch": batch, "s_per_image": seconds / batch, "images_per_s": batch / seconds}
            if cuda:
                row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
            results.append(row)
            print(f"{name:15s} {params.scheduler:9s} {params.steps:5d} {inpainter.dtype:8s} {batch:5d} "
                  f"{row['s_per_image']:8.3f} {row['images_per_s']:8.3f}" + (f" {row['peak_gib']:8.2f}" if cuda else ""),
                  flush=True)
    by = {(r["profile"], r["batch"]): r["s_per_image"] for r in results}
    for batch in sorted({r["batch"] for r in results}):
        if ("paper", batch) in by and ("fast", batch) in by:
            others = "".join(f", {n} {by[('paper', batch)] / by[(n, batch)]:.2f}x" for n, _ in variants(args)[2:]
                             if (n, batch) in by)
            print(f"batch {batch}: fast is {by[('paper', batch)] / by[('fast', batch)]:.2f}x faster than paper per image "
                  f"(paper {by[('paper', batch)]:.3f} s, fast {by[('fast', batch)]:.3f} s{others})")
    print("Random weights measure speed only: quality at fewer steps cannot be judged here; compare the "
          "profiles on your checkpoint with `dlcr generation-quality` (README, \"Fast generation\").")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "width": args.width, "height": args.height,
                                         "step_scale": args.step_scale, "results": results}, indent=2))


if __name__ == "__main__":
    main()
