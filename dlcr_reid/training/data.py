"""Training images: the real training split, each real draw paired (DLCR) with one generated variant.

A generated variant is always one of the SAME source image's variants (manifest ``source_path`` ==
index ``path``, status ok), keeps the identity label and carries no clothes label: the clothes
classifier and the CAL loss only ever see the real half. Which variant, and every augmentation, is
drawn from a generator seeded by (seed, epoch, draw), so a batch is reproducible anywhere.

Every image is decoded once before training (``unreadable_files``): a missing or corrupt file stops
the run before its first step with an error naming it, or, with ``training.skip_unreadable``, is
left out of the training set (a real image) or of its source's variant pool (a generated one) and
counted. Training never meets such a file inside a DataLoader worker halfway through an epoch; the
set is fixed before sampling, so a resumed run leaves out the same files.
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from dlcr_reid.errors import ReidInputError
from dlcr_reid.io import read_rgb, unreadable_files
from dlcr_reid.params.training import TrainingParams
from dlcr_reid.training.progressive import allowed_variant_count, variant_fraction
from dlcr_reid.training.transforms import TrainTransform

log = logging.getLogger(__name__)

INDEX_COLUMNS = ("path", "pid", "clothes_id", "split")
MANIFEST_COLUMNS = ("source_path", "variant", "path", "status")


def training_rows(index: pd.DataFrame) -> pd.DataFrame:
    """The index's training split, one row per image (video tracklets expand to their frames)."""
    missing = [c for c in INDEX_COLUMNS if c not in index.columns]
    if missing:
        raise ReidInputError(f"index table lacks columns {missing}; expected at least {list(INDEX_COLUMNS)}")
    train = index[index["split"] == "train"]
    if train.empty:
        raise ReidInputError("index table has no rows with split == 'train'")
    if "frames" in train.columns:
        # video datasets: every frame trains as an image with its tracklet's labels
        train = train.drop(columns="path").explode("frames").rename(columns={"frames": "path"})
        train = train.dropna(subset=["path"])
    return train[["path", "pid", "clothes_id"]].reset_index(drop=True)


def variants_by_source(manifest: pd.DataFrame | None) -> dict[str, list[str]]:
    """Generated image paths per source image, ordered by variant number (status ok only)."""
    if manifest is None:
        return {}
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise ReidInputError(
            f"generation manifest lacks columns {missing}; expected at least {list(MANIFEST_COLUMNS)}"
        )
    ok = manifest[manifest["status"] == "ok"].sort_values(["source_path", "variant"], kind="stable")
    return {str(source): list(group["path"].astype(str)) for source, group in ok.groupby("source_path", sort=False)}


def draw_generator(seed: int, epoch: int, draw: int, half: int) -> torch.Generator:
    """A torch generator for one draw; ``half`` 0 = real image, 1 = generated image."""
    state = np.random.SeedSequence([seed, epoch, draw, half]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & ((1 << 63) - 1))


def _open_image(path: str) -> Any:
    return read_rgb(path, "training image")


def check_readable(paths: Sequence[str], skip: bool, workers: int) -> list[str]:
    """Raise naming the unreadable files, or (``skip``) log and return them."""
    bad = unreadable_files(paths, workers)
    if not bad:
        return []
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    if not skip:
        raise ReidInputError(
            f"{len(bad)} training image(s) cannot be read: {shown}; fix or remove them, or set "
            "training.skip_unreadable: true to train without them"
        )
    log.warning("training.skip_unreadable: leaving out %d unreadable image(s): %s", len(bad), shown)
    return bad


class ReidTrainingSet(Dataset):
    """Items keyed by (image index, epoch, draw) as yielded by PKBatchSampler."""

    def __init__(self, index: pd.DataFrame, manifest: pd.DataFrame | None, params: TrainingParams) -> None:
        rows = training_rows(index)
        self.params = params
        variants = variants_by_source(manifest)
        real = rows["path"].astype(str).tolist()
        wanted = real + [v for path in real for v in variants.get(path, [])]
        self.unreadable = check_readable(wanted, params.skip_unreadable, max(4, params.num_workers))
        if self.unreadable:
            bad = set(self.unreadable)
            rows = rows[~rows["path"].astype(str).isin(bad)].reset_index(drop=True)
            variants = {source: [v for v in pool if v not in bad] for source, pool in variants.items()}
            if rows.empty:
                raise ReidInputError("no readable training image left after training.skip_unreadable")
        self.paths = rows["path"].astype(str).tolist()
        # relabel over sorted raw keys so labels are 0..N-1 whatever the index holds
        self.pid_values = sorted(rows["pid"].unique().tolist())
        self.clothes_values = sorted(rows["clothes_id"].unique().tolist())
        pid_label = {value: label for label, value in enumerate(self.pid_values)}
        clothes_label = {value: label for label, value in enumerate(self.clothes_values)}
        self.pids = [pid_label[v] for v in rows["pid"].tolist()]
        self.clothes = [clothes_label[v] for v in rows["clothes_id"].tolist()]
        self.variants = [variants.get(path, []) for path in self.paths]
        self.use_generated = manifest is not None
        self.images_without_variants = sum(1 for v in self.variants if not v) if self.use_generated else 0
        self.transform = TrainTransform(params.height, params.width, erase_prob=params.random_erasing)

    @property
    def num_ids(self) -> int:
        return len(self.pid_values)

    @property
    def num_clothes(self) -> int:
        return len(self.clothes_values)

    def positive_clothes_mask(self) -> torch.Tensor:
        """[num_ids, num_clothes] bool: clothes classes worn by each identity (CAL positives)."""
        mask = torch.zeros(self.num_ids, self.num_clothes, dtype=torch.bool)
        mask[torch.tensor(self.pids), torch.tensor(self.clothes)] = True
        return mask

    def label_maps(self) -> dict[str, list[Any]]:
        """Label -> raw index value, for checkpoints (JSON-friendly)."""
        return {"pid": [int(v) for v in self.pid_values], "clothes_id": [int(v) for v in self.clothes_values]}

    def generated_path(self, image_index: int, epoch: int, draw: int) -> str | None:
        """The variant this draw pairs with the real image, or None if the image has none."""
        variants = self.variants[image_index]
        if not self.use_generated or not variants:
            return None
        pool = allowed_variant_count(len(variants), variant_fraction(self.params, epoch))
        generator = draw_generator(self.params.seed, epoch, draw, 2)
        return variants[int(torch.randint(0, pool, (), generator=generator).item())]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: tuple[int, int, int]) -> dict[str, Any]:
        image_index, epoch, draw = key
        real = self.transform(_open_image(self.paths[image_index]), draw_generator(self.params.seed, epoch, draw, 0))
        item = {
            "real": real,
            "pid": self.pids[image_index],
            "clothes": self.clothes[image_index],
            "path": self.paths[image_index],
            "generated": None,
            "generated_path": None,
        }
        generated_path = self.generated_path(image_index, epoch, draw)
        if generated_path is not None:
            generator = draw_generator(self.params.seed, epoch, draw, 1)
            item["generated"] = self.transform(_open_image(generated_path), generator)
            item["generated_path"] = generated_path
        return item


def collate_pairs(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the real half and the (possibly smaller) generated half of a batch."""
    with_generated = [item for item in items if item["generated"] is not None]
    batch = {
        "real": torch.stack([item["real"] for item in items]),
        "pids": torch.tensor([item["pid"] for item in items], dtype=torch.long),
        "clothes": torch.tensor([item["clothes"] for item in items], dtype=torch.long),
        "paths": [item["path"] for item in items],
        "generated_pids": torch.tensor([item["pid"] for item in with_generated], dtype=torch.long),
        "generated_sources": [item["path"] for item in with_generated],
        "generated_paths": [item["generated_path"] for item in with_generated],
    }
    if with_generated:
        batch["generated"] = torch.stack([item["generated"] for item in with_generated])
    else:
        batch["generated"] = torch.empty(0, *items[0]["real"].shape)
    return batch
