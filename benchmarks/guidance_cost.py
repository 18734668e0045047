"""What discriminator guidance costs: seconds per image with and without it, SD 1.5 inpainting (random weights).

The pipeline is the full-size SD-1.5 inpainting architecture from ``benchmarks/sd15_cpu.py``; the
discriminator is ours at its default size (random weights: its cost does not depend on what it
learnt), saved to a folder and switched on through ``enable_guidance`` as generation does. Each
timing is whole pipe() calls after a warm-up; the ratio is guided / unguided.

CPU (reduced size):        .venv/bin/python benchmarks/guidance_cost.py --threads 1
GPU (paper settings):      .venv/bin/python benchmarks/guidance_cost.py --device cuda --dtype fp16 \
                               --height 768 --width 256 --steps 50
"""
from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sd15_cpu import DTYPES, build_sd15_inpainting, pipeline_arguments  # noqa: E402

from dlcr_assets.discriminator import DiscriminatorConfig, LatentDiscriminator, enable_guidance, save_discriminator  # noqa: E402
from dlcr_assets.params.discriminator import DiscriminatorGuidanceParams  # noqa: E402


def main() -> None:
    parser = pipeline_arguments(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=200.0)
    parser.add_argument("--threads", type=int, help="torch CPU threads (1 is fastest on a loaded shared machine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    pipe = build_sd15_inpainting(DTYPES[args.dtype], args.device)
    folder = Path(tempfile.mkdtemp(prefix="guidance-cost-"))
    save_discriminator(LatentDiscriminator(DiscriminatorConfig(width=args.width, height=args.height)), folder)
    device_name = (torch.cuda.get_device_name(0) if args.device.startswith("cuda")
                   else f"{platform.machine()} CPU, torch threads {torch.get_num_threads()}")
    print(f"SD-1.5 inpainting (random weights) on {device_name}, {args.dtype}, {args.width}x{args.height} (w x h), "
          f"{args.steps} steps, batch {args.batch}, guidance threshold t > {args.threshold:g}")
    image = Image.new("RGB", (args.width, args.height), (120, 110, 100))
    mask = Image.new("L", (args.width, args.height), 0)
    mask.paste(255, (0, args.height // 5, args.width, args.height))

    def call(steps: int) -> None:
        pipe(prompt=["red coat, white t-shirt, navy trousers, black shoes"] * args.batch, image=[image] * args.batch,
             mask_image=[mask] * args.batch, height=args.height, width=args.width, num_inference_steps=steps,
             guidance_scale=7.5, strength=1.0,
             generator=[torch.Generator(args.device).manual_seed(i) for i in range(args.batch)])
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def timed() -> float:
        start = time.perf_counter()
        call(args.steps)
        return (time.perf_counter() - start) / args.batch

    settings = DiscriminatorGuidanceParams(enabled=True, path=str(folder), threshold=args.threshold)
    spent = [0.0]

    def guided_pipe():
        """Switch guidance on, timing the correction itself (discriminator forward + backward)."""
        patch = enable_guidance(pipe, settings, device=args.device)
        correction = patch.correction

        def timed_correction(*inputs):
            start = time.perf_counter()
            out = correction(*inputs)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            spent[0] += time.perf_counter() - start
            return out

        patch.correction = timed_correction
        return patch

    call(2)  # warm-up (kernels, allocator), both ways
    guided_pipe()
    call(2)
    pipe.unet.forward.remove()
    plain, guided = [], []
    # alternate the two so that a load change on a shared machine hits both; keep the fastest of each
    for _ in range(args.repeats):
        plain.append(timed())
        patch = guided_pipe()
        spent[0] = 0.0
        guided.append(timed())
        share, calls = spent[0] / args.batch / guided[-1], patch.calls
        patch.remove()
    print(f"unguided {min(plain):.3f} s/image, guided {min(guided):.3f} s/image, ratio {min(guided) / min(plain):.3f}; "
          f"the correction is {100 * share:.2f}% of a guided image ({calls} guided UNet calls of "
          f"{len(pipe.scheduler.timesteps)})")


if __name__ == "__main__":
    main()
