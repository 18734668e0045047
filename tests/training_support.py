"""Tiny CC-ReID data drawn in-process for the training tests (PNG images, index, generation manifest)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from dlcr_reid.params import TrainingParams

COLOURS = [(200, 30, 30), (30, 160, 40), (40, 60, 200), (220, 200, 40), (160, 40, 160), (30, 170, 170)]


def draw_person(path: Path, pid: int, clothes: int, seed: int, height: int = 32, width: int = 16) -> str:
    """A head colour per identity and a body colour per outfit, with a little noise."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 90, dtype=np.uint8)
    image[: height // 4] = COLOURS[pid % len(COLOURS)]
    image[height // 4 :] = COLOURS[(clothes + 3) % len(COLOURS)]
    image = np.clip(image.astype(int) + rng.integers(-20, 20, image.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return str(path.resolve())


def make_index(root: Path, train_ids: int = 4, images_per_outfit: int = 2, test_ids: int = 3) -> pd.DataFrame:
    """Index table (contract columns): training ids with 2 outfits each, plus query/gallery rows."""
    rows = []
    clothes_label = 0
    for pid in range(train_ids):
        for outfit in range(2):
            for shot in range(images_per_outfit):
                name = f"{pid:03d}_{outfit}_c{shot + 1}_{shot}.png"
                path = draw_person(root / "train" / name, pid, outfit, seed=len(rows))
                rows.append(dict(path=path, pid=pid, camid=shot, clothes_id=clothes_label, split="train",
                                 dataset="tiny", pid_raw=str(pid), clothes_raw=f"{pid}_{outfit}"))
            clothes_label += 1
    test_clothes = 0
    for pid in range(100, 100 + test_ids):
        for split, outfit, cam in (("query", 0, 0), ("gallery", 0, 1), ("gallery", 1, 2), ("query", 1, 3)):
            name = f"{pid:03d}_{outfit}_c{cam + 1}.png"
            path = draw_person(root / split / name, pid, outfit, seed=len(rows))
            rows.append(dict(path=path, pid=pid, camid=cam, clothes_id=test_clothes + outfit, split=split,
                             dataset="tiny", pid_raw=str(pid), clothes_raw=f"{pid}_{outfit}"))
        test_clothes += 2
    return pd.DataFrame(rows)


def make_manifest(index: pd.DataFrame, out_dir: Path, variants: int = 4, skip_every: int = 5) -> pd.DataFrame:
    """Generated variants per training image (every ``skip_every``-th image gets none; one failed row each)."""
    rows = []
    train = index[index["split"] == "train"].reset_index(drop=True)
    for number, row in train.iterrows():
        if number % skip_every == skip_every - 1:
            continue
        for variant in range(variants):
            out = out_dir / f"{Path(row['path']).stem}-v{variant}.png"
            path = draw_person(out, int(row["pid"]), 10 + variant, seed=1000 + number * 10 + variant)
            rows.append(dict(dataset="tiny", source_path=row["path"], variant=variant, outfit_key=f"o{variant}",
                             prompt="red coat", seed=variant, backend="recolor", model_id="recolor", path=path,
                             status="ok", error=None))
        rows.append(dict(dataset="tiny", source_path=row["path"], variant=variants, outfit_key="bad", prompt="x",
                         seed=0, backend="recolor", model_id="recolor", path=str(out_dir / "missing.png"),
                         status="failed", error="test failure"))
    return pd.DataFrame(rows)


def tiny_params(**overrides) -> TrainingParams:
    """ResNet-18 at 32x16, P=2 x K=2, two short epochs with CAL from the second."""
    values = dict(backbone="resnet18", weights="none", height=32, width=16, ids_per_batch=2, images_per_id=2,
                  epochs=2, milestones=[1], cal_start_epoch=1, eval_every=0, max_steps_per_epoch=2,
                  num_workers=0, seed=3, keep_checkpoints=0)
    values.update(overrides)
    return TrainingParams(**values)
