"""Full-size Stable Diffusion 1.5 inpainting (random weights, the real compute): seconds per image.

Builds the SD-1.5 inpainting architecture in memory (UNet 320-640-1280-1280 with 9 input
channels and 768-d cross-attention, the 4-level VAE, a 12-layer 768-d CLIP text encoder) with
random weights, wraps it in StableDiffusionInpaintPipeline and times whole pipe() calls (text
encoding, VAE encode of image and mask, denoising, VAE decode) after one warm-up call.

CPU default (this machine):   .venv/bin/python benchmarks/sd15_cpu.py
GPU figures (paper settings): .venv/bin/python benchmarks/sd15_cpu.py --device cuda --dtype fp16 \
                                  --height 768 --width 256 --steps 50,20 --batch-sizes 1,2,4,8,16
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def build_sd15_inpainting(dtype: torch.dtype, device: str):
    """SD-1.5 inpainting with random weights (architecture as in the released checkpoint's configs)."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from tiny_vision_models import _tiny_clip_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=64, in_channels=9, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    )
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
        block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
    )
    tokenizer = _tiny_clip_tokenizer(Path(tempfile.mkdtemp(prefix="sd15-tokenizer-")))
    tokenizer.model_max_length = 77
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              skip_prk_steps=True, steps_offset=1)
    pipe = StableDiffusionInpaintPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                          scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                          requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device=device, dtype=dtype)


def pipeline_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with the options of the SD-1.5 benchmarks' pipeline: device, dtype, image size."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32", choices=sorted(DTYPES))
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--width", type=int, default=64)
    return parser


def main() -> None:
    parser = pipeline_arguments(__doc__.splitlines()[0])
    parser.add_argument("--steps", default="10", help="comma list, e.g. 50,20")
    parser.add_argument("--batch-sizes", default="1", help="comma list, e.g. 1,2,4,8,16")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    pipe = build_sd15_inpainting(DTYPES[args.dtype], args.device)
    params = sum(p.numel() for p in pipe.unet.parameters()) / 1e6
    device_name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else f"{platform.machine()} CPU, torch threads {torch.get_num_threads()}"
    print(f"SD-1.5 inpainting (random weights, UNet {params:.0f}M params) on {device_name}, {args.dtype}, "
          f"{args.width}x{args.height} (w x h)")
    image = Image.new("RGB", (args.width, args.height), (120, 110, 100))
    mask = Image.new("L", (args.width, args.height), 0)
    mask.paste(255, (0, args.height // 5, args.width, args.height))
    results = []
    for steps in (int(s) for s in args.steps.split(",")):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            def call():
                pipe(prompt=["red coat, white t-shirt, navy trousers, black shoes"] * batch, image=[image] * batch,
                     mask_image=[mask] * batch, height=args.height, width=args.width, num_inference_steps=steps,
                     guidance_scale=7.5, strength=1.0,
                     generator=[torch.Generator(args.device).manual_seed(i) for i in range(batch)])
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
            try:
                call()  # warm-up (kernels, allocator)
                start = time.perf_counter()
                for _ in range(args.repeats):
                    call()
                seconds = (time.perf_counter() - start) / args.repeats
            except torch.OutOfMemoryError:
                print(f"steps {steps:3d} batch {batch:3d}: out of memory")
                continue
            row = {"steps": steps, "batch": batch, "s_per_image": seconds / batch, "images_per_s": batch / seconds}
            results.append(row)
            print(f"steps {steps:3d} batch {batch:3d}: {row['s_per_image']:.3f} s/image, {row['images_per_s']:.3f} images/s")
    if args.json:
        args.json.write_text(json.dumps({"device": device_name, "dtype": args.dtype, "height": args.height,
                                         "width": args.width, "results": results}, indent=2))


if __name__ == "__main__":
    main()
