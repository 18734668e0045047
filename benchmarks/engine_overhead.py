"""Engine overhead: generate_images (read, mask, prompt, generate, composite, save, manifest) vs a bare pipe() loop.

Both run the same tiny SD inpainting pipeline (real diffusers code, random weights) on CPU over the
same batches with the same prompts and seeds; the ratio engine images/s / bare images/s is what the
engine costs. Target: >= 0.90. Runs alternate (bare, engine, bare, engine, ...) and the best of each
is kept, so a noisy shared machine hurts both sides alike.

    .venv/bin/python benchmarks/engine_overhead.py [--images 64] [--steps 10] [--batch 8] [--repeats 2]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from dlcr_assets.generation import generate_images  # noqa: E402
from dlcr_assets.generation.engine import plan_generation  # noqa: E402
from dlcr_assets.inpainting.diffusers_backend import DiffusersInpainter  # noqa: E402
from dlcr_assets.masks import make_clothing_masks  # noqa: E402
from dlcr_assets.params.generation import GenerationParams  # noqa: E402
from dlcr_assets.params.masks import MasksParams  # noqa: E402
from tiny_vision_models import build_tiny_sd_inpainting, make_tiny_dataset  # noqa: E402


def bare_loop(pipe, plan, params: GenerationParams) -> float:
    """Seconds for pipe() over the plan's batches, inputs decoded beforehand (the ideal the engine chases)."""
    inputs = {}
    for job in plan:
        if job.source_path not in inputs:
            inputs[job.source_path] = (Image.open(job.source_path).convert("RGB"), Image.open(job.mask_path).convert("L"))
    start = time.perf_counter()
    for i in range(0, len(plan), params.batch_size):
        batch = plan[i:i + params.batch_size]
        pipe(prompt=[j.prompt for j in batch], image=[inputs[j.source_path][0] for j in batch],
             mask_image=[inputs[j.source_path][1] for j in batch], height=params.height, width=params.width,
             num_inference_steps=params.steps, guidance_scale=params.guidance, strength=params.strength,
             generator=[torch.Generator().manual_seed(j.seed) for j in batch], output_type="pil")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64, help="generated images per run")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="engine-overhead-"))
    try:
        variants = 2
        index, prompts = make_tiny_dataset(work / "raw", train_ids=max(2, args.images // (variants * 4)), images_per_outfit=2)
        masks = make_clothing_masks(index, MasksParams(), work / "masks")
        params = GenerationParams(backend="diffusers", steps=args.steps, width=64, height=128, batch_size=args.batch,
                                  variants_per_image=variants, num_workers=2, prefetch=2)
        # the tiny dataset's images are 32x64; upscale them to the diffusion size so no resize hides costs
        for path in index["path"].tolist() + masks["mask_path"].tolist():
            image = Image.open(path)
            image.resize((64, 128), Image.NEAREST).save(path)
        for path in index["parsing_path"]:
            Image.open(path).resize((64, 128), Image.NEAREST).save(path)
        inpainter = DiffusersInpainter(params, "cpu", pipe=_load(build_tiny_sd_inpainting(work / "model")))
        plan = plan_generation(index, masks, prompts, params, work / "gen", "bench")
        print(f"{len(plan)} images per run, {params.width}x{params.height}, {params.steps} steps, batch {params.batch_size}, "
              f"torch threads {torch.get_num_threads()}")
        bare_loop(inpainter.pipe, plan[: params.batch_size], params)  # warm-up
        bare_times, engine_times = [], []
        for repeat in range(args.repeats):
            bare_times.append(bare_loop(inpainter.pipe, plan, params))
            out = work / f"gen-{repeat}"
            start = time.perf_counter()
            manifest = generate_images(index, masks, prompts, params, out, work / f"gen-{repeat}.parquet",
                                       dataset="bench", inpainter=inpainter)
            engine_times.append(time.perf_counter() - start)
            assert (manifest["status"] == "ok").sum() == len(plan)
            print(f"run {repeat}: bare {len(plan) / bare_times[-1]:.2f} img/s, engine {len(plan) / engine_times[-1]:.2f} img/s")
        bare, engine = len(plan) / min(bare_times), len(plan) / min(engine_times)
        print(f"bare pipe() loop: {bare:.2f} images/s (best of {args.repeats})")
        print(f"engine:           {engine:.2f} images/s (best of {args.repeats}; incl. plan, resume scan, PNG writes, manifest merge)")
        print(f"ratio engine/bare: {engine / bare:.3f}  (target >= 0.90)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load(folder: Path):
    from diffusers import AutoPipelineForInpainting

    return AutoPipelineForInpainting.from_pretrained(folder, dtype=torch.float32, safety_checker=None,
                                                     requires_safety_checker=False)


if __name__ == "__main__":
    main()
