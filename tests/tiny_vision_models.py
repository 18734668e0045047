"""Tiny random vision models saved in their real formats: a SegFormer parser and an SD inpainting pipeline.

Built in-process (no downloads), saved with save_pretrained, and optionally placed in a Hugging Face
cache layout (models--ORG--NAME/snapshots/<sha> + refs/main) so that, offline, the production ids
load through the very from_pretrained calls the pipeline makes.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from dlcr_assets.masks.labels import ATR_LABELS


def _tiny_clip_tokenizer(folder: Path):
    """A CLIPTokenizer from a hand-written byte-level vocab (every byte symbol + end-of-word forms)."""
    from transformers import CLIPTokenizer

    # byte-level BPE shows each byte as a printable symbol: printable Latin-1 bytes as themselves,
    # the others shifted past 255 (the GPT-2/CLIP convention)
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = [b for b in range(256) if b not in printable]
    symbols = [chr(b) for b in printable] + [chr(256 + n) for n in range(len(shifted))]
    vocab: dict[str, int] = {}
    for symbol in symbols + [s + "</w>" for s in symbols]:
        vocab.setdefault(symbol, len(vocab))
    merges = ["r e", "e d</w>", "re d</w>", "o a", "c oa", "coa t</w>"]
    for merge in merges:
        vocab.setdefault(merge.replace(" ", ""), len(vocab))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab.setdefault(special, len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=32)


def build_tiny_sd_inpainting(folder: Path) -> Path:
    """Save a tiny StableDiffusionInpaintPipeline (UNet in_channels 9) to ``folder``."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = _tiny_clip_tokenizer(folder / "_tokenizer_src")
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=9, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, attention_head_dim=4,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16, 16, 16), in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        norm_num_groups=4, sample_size=32,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=32, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    ))
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              skip_prk_steps=True, steps_offset=1)
    pipe = StableDiffusionInpaintPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    shutil.rmtree(folder / "_tokenizer_src")
    return folder


def build_tiny_segformer(folder: Path, id2label: dict[int, str] = ATR_LABELS) -> Path:
    """Save a tiny SegformerForSemanticSegmentation (+ image processor at 64x64) with the given labels."""
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    torch.manual_seed(0)
    config = SegformerConfig(
        num_channels=3, num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
        patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 2], mlp_ratios=[2, 2],
        decoder_hidden_size=16, id2label={int(k): v for k, v in id2label.items()},
        label2id={v: int(k) for k, v in id2label.items()},
    )
    model = SegformerForSemanticSegmentation(config)
    # sharpen the random classifier so the predicted labels vary across the image (clothes and not)
    with torch.no_grad():
        model.decode_head.classifier.weight.mul_(40.0)
    model.save_pretrained(folder)
    SegformerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder






# ---------------------------------------------------------------- a tiny CC-ReID dataset with LIP maps

BODY_LABELS = ((4, 13, 13), (13, 33, 5), (33, 55, 9), (55, 61, 18))  # (row from, row to, LIP label)
OUTFIT_COLOURS = [(200, 30, 35), (35, 80, 200), (40, 150, 60), (240, 215, 40), (120, 50, 160),
                  (240, 130, 30), (20, 130, 130), (235, 235, 232), (20, 20, 22), (215, 195, 160)]


def lip_person_map(height: int = 64, width: int = 32, shift: int = 0) -> "np.ndarray":
    import numpy as np

    labels = np.zeros((height, width), dtype=np.uint8)
    for top, bottom, label in BODY_LABELS:
        labels[top:bottom, 8 + shift:24 + shift] = label
    return labels


def make_tiny_dataset(root: Path, dataset: str = "tiny", train_ids: int = 4, outfits_per_id: int = 2,
                      images_per_outfit: int = 2, queries: int = 4):
    """Write a tiny LTCC-like dataset (32x64 PNGs + LIP parsing maps); return (index, prompts) tables."""
    import numpy as np
    import pandas as pd
    from PIL import Image

    rng = np.random.default_rng(0)
    rows, prompts = [], []
    (root / "train").mkdir(parents=True, exist_ok=True)
    (root / "query").mkdir(parents=True, exist_ok=True)
    (root / "parsing" / "train").mkdir(parents=True, exist_ok=True)
    (root / "parsing" / "query").mkdir(parents=True, exist_ok=True)

    def person(upper, lower, shift, path, parsing_path):
        labels = lip_person_map(shift=shift)
        pixels = np.full((64, 32, 3), 128, dtype=np.uint8) + rng.integers(0, 20, (64, 32, 3), dtype=np.uint8)
        pixels[labels == 13] = (225, 180, 150)
        pixels[labels == 5] = upper
        pixels[labels == 9] = lower
        pixels[labels == 18] = (30, 30, 30)
        Image.fromarray(pixels).save(path)
        Image.fromarray(labels, mode="L").save(parsing_path)

    clothes_id = 0
    for pid in range(train_ids):
        for outfit in range(outfits_per_id):
            upper = OUTFIT_COLOURS[clothes_id % len(OUTFIT_COLOURS)]
            lower = OUTFIT_COLOURS[(clothes_id + 3) % len(OUTFIT_COLOURS)]
            for n in range(images_per_outfit):
                name = f"{pid:03d}_{outfit + 1}_c{n + 1}_{n:03d}.png"
                path, parsing = root / "train" / name, root / "parsing" / "train" / name
                person(upper, lower, n % 3, path, parsing)
                rows.append({"path": str(path.resolve()), "pid": pid, "camid": n, "clothes_id": clothes_id,
                             "split": "train", "dataset": dataset, "pid_raw": f"{pid:03d}",
                             "clothes_raw": f"{pid:03d}_{outfit + 1}", "parsing_path": str(parsing.resolve())})
            prompts.append({"outfit_key": f"{pid}_{clothes_id}", "pid": pid, "clothes_id": clothes_id,
                            "items": [f"colour{clothes_id} t-shirt", "black trousers"],
                            "prompt": f"colour{clothes_id} t-shirt, black trousers", "source": "dataset",
                            "backend": "test", "model_id": "test"})
            clothes_id += 1
    for q in range(queries):
        name = f"{100 + q:03d}_1_c1_000.png"
        path, parsing = root / "query" / name, root / "parsing" / "query" / name
        person(OUTFIT_COLOURS[q], OUTFIT_COLOURS[q + 1], 0, path, parsing)
        rows.append({"path": str(path.resolve()), "pid": 100 + q, "camid": 0, "clothes_id": q, "split": "query",
                     "dataset": dataset, "pid_raw": f"{100 + q}", "clothes_raw": f"{100 + q}_1",
                     "parsing_path": str(parsing.resolve())})
    for n in range(2):
        prompts.append({"outfit_key": f"novel-{n}", "pid": None, "clothes_id": None, "items": ["red coat"],
                        "prompt": f"red coat, novel{n} shoes", "source": "novel", "backend": "test", "model_id": "test"})
    prompt_table = pd.DataFrame(prompts)
    prompt_table["pid"] = prompt_table["pid"].astype("Int64")
    prompt_table["clothes_id"] = prompt_table["clothes_id"].astype("Int64")
    return pd.DataFrame(rows), prompt_table
