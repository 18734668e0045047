"""Descriptions and prompt-table speed: CPU backends' throughput and the VLM's batching gain.

Prints images/s of the parsing describer, images/s of the tiny random LLaVA (real
transformers code path) at batch 1 vs batch 8 with the ratio, and the time to build a prompt
table of 1000 outfits with 9000 novel outfits (vocabulary backend). Figures from one run.
Run: .venv/bin/python benchmarks/descriptions_speed.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from dlcr_assets.descriptions import describe_clothing  # noqa: E402
from dlcr_assets.descriptions.vlm import VlmDescriber  # noqa: E402
from dlcr_assets.params.descriptions import DescriptionsParams  # noqa: E402
from dlcr_assets.params.prompts import PromptsParams  # noqa: E402
from dlcr_assets.prompts import build_prompt_table  # noqa: E402
from tiny_text_models import build_tiny_llava, toy_index  # noqa: E402


def main() -> None:
    import torch

    torch.set_num_threads(2)
    work = Path(tempfile.mkdtemp(prefix="dlcr-bench-"))
    base = toy_index(work / "images")
    index = pd.concat([base] * 40, ignore_index=True)  # 160 training rows
    start = time.perf_counter()
    describe_clothing(index, DescriptionsParams())
    parsing_rate = (index.split == "train").sum() / (time.perf_counter() - start)

    build_tiny_llava(work / "llava")
    paths = list(index.loc[index.split == "train", "path"])[:32]
    rates = {}
    for batch in (1, 8):
        describer = VlmDescriber(DescriptionsParams(backend="vlm", model_id=str(work / "llava"), batch_size=batch,
                                                    max_new_tokens=16, temperature=0.0), device="cpu")
        describer.describe(paths[:batch])  # warm-up
        start = time.perf_counter()
        describer.describe(paths)
        rates[batch] = len(paths) / (time.perf_counter() - start)

    answers = describe_clothing(base, DescriptionsParams())
    outfits = []
    for n in range(1000):  # 1000 outfits, two answers each
        one = answers.iloc[[n % len(answers)] * 2].copy()
        one["pid"], one["clothes_id"] = n, 0
        outfits.append(one)
    descriptions = pd.concat(outfits, ignore_index=True)
    start = time.perf_counter()
    table = build_prompt_table(descriptions, PromptsParams())
    table_seconds = time.perf_counter() - start

    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"parsing describer: {parsing_rate:.0f} images/s")
    print(f"tiny LLaVA vlm, 16 new tokens: batch 1 {rates[1]:.1f} images/s, batch 8 {rates[8]:.1f} images/s, "
          f"ratio {rates[8] / rates[1]:.2f}x")
    print(f"prompt table (vocabulary): {len(table)} rows (1000 dataset + {len(table) - 1000} novel) "
          f"in {table_seconds:.2f} s")


if __name__ == "__main__":
    main()
