"""Peak memory one image adds to the full-size SD 1.5 inpainting VAE and UNet (random weights): the basis of `batch_size: auto`.

Measures, in a fresh process per (model, batch), the peak resident memory over the weights of the
VAE (decode then encode, as a generation does) and of the UNet (one guidance pair per image) at a
diffusion size, and prints the per-image difference of two batch sizes, also as bytes per pixel
per dtype byte (the unit of dlcr_assets.inpainting.speed.BYTES_PER_PIXEL_BYTE). CPU, fp32.

    .venv/bin/python benchmarks/generation_memory.py [--width 256 --height 768 --batches 1,3]
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys


def peak(model: str, batch: int, width: int, height: int) -> float:
    """Peak resident GiB over the weights of one forward of ``model`` at ``batch`` images (this process)."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel

    torch.manual_seed(0)
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # noqa: E731 (KiB -> GiB)
    with torch.no_grad():
        if model == "vae":
            vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
                                block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                                up_block_types=("UpDecoderBlock2D",) * 4).eval()
            before = rss()
            pixels = vae.decode(torch.randn(batch, 4, height // 8, width // 8)).sample
            vae.encode(pixels).latent_dist.sample()
        else:
            unet = UNet2DConditionModel(
                sample_size=64, in_channels=9, out_channels=4, layers_per_block=2,
                block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8,
                down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3).eval()
            before = rss()
            unet(torch.randn(2 * batch, 9, height // 8, width // 8), 500, encoder_hidden_states=torch.randn(2 * batch, 77, 768))
    return rss() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--batches", default="1,3", help="two batch sizes")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # model batch: measure in this process
    args = parser.parse_args()
    if args.child:
        print(peak(args.child[0], int(args.child[1]), args.width, args.height))
        return
    low, high = (int(b) for b in args.batches.split(","))
    for model in ("vae", "unet"):
        peaks = [float(subprocess.run([sys.executable, __file__, "--width", str(args.width), "--height", str(args.height),
                                       "--child", model, str(b)], check=True, capture_output=True, text=True)
                       .stdout.split()[-1]) for b in (low, high)]
        per_image = (peaks[1] - peaks[0]) / (high - low)
        print(f"{model}: batch {low} {peaks[0]:.3f} GiB, batch {high} {peaks[1]:.3f} GiB over the weights -> "
              f"{per_image:.3f} GiB per {args.width}x{args.height} image, "
              f"{per_image * 2**30 / (args.width * args.height * 4):.0f} bytes per pixel per dtype byte (fp32)")


if __name__ == "__main__":
    main()
