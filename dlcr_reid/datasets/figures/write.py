"""Writes the figures dataset (`dlcr synthetic-dataset --renderer vcclothes-figures`): VC-Clothes layout plus LIP parsing maps.

Layout under ``params.root``::

    VC-Clothes/{train,query,gallery}/<pid:04d>-<cam:02d>-<outfit:02d>-<index:02d>.jpg
    parsing/{train,query,gallery}/<same stem>.png     LIP label ids, mode "L"
    figures.json                                      params, counts, outfit texts, copies; written last

``masks.parsing_root: <root>/parsing`` lets the masks step find the maps: they mirror the image
paths relative to ``VC-Clothes/``. Test identities follow the camera plan of ``FiguresParams``; a
``tempting_fraction`` of them wear, on camera 4, a copy of another test person's outfit 1.
Every image draws from its own generator keyed by (seed, split, pid, camera, outfit, index).
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlcr_reid.datasets.figures.people import Garment, Outfit, keyed_rng, sample_camera, sample_identity, sample_outfits
from dlcr_reid.datasets.figures.render import render_image
from dlcr_reid.params.figures import FiguresParams

MARKER = "figures.json"
DATASET_FOLDER = "VC-Clothes"
SPLITS = ("train", "query", "gallery")
CAMERAS = (1, 2, 3, 4)
COLOUR_NAMES = {"black": (25, 25, 28), "white": (235, 235, 230), "grey": (128, 128, 132), "navy": (30, 40, 85),
                "beige": (200, 180, 140), "brown": (100, 65, 40), "red": (200, 35, 35), "orange": (230, 130, 30),
                "yellow": (225, 210, 50), "green": (50, 160, 60), "teal": (30, 140, 140), "blue": (40, 80, 200),
                "purple": (120, 50, 160), "pink": (230, 120, 170)}
WORDS = {"tshirt": "t-shirt", "tank": "tank top", "hstripes": "striped", "vstripes": "striped",
         "checks": "checked", "dots": "dotted", "plain": ""}


@dataclass(frozen=True)
class Shot:
    folder: str            # train | query | gallery
    pid: int
    camera: int
    outfit: int            # 1-based outfit number in the file name
    index: int
    wears: tuple[int, int]  # (pid, outfit) of the garments drawn: another person's for a copied outfit

    @property
    def stem(self) -> str:
        return f"{self.pid:04d}-{self.camera:02d}-{self.outfit:02d}-{self.index:02d}"


def colour_name(colour) -> str:
    names = list(COLOUR_NAMES)
    table = np.asarray([COLOUR_NAMES[n] for n in names], dtype=float)
    return names[int(np.argmin(((table - np.asarray(colour, dtype=float)) ** 2).sum(axis=1)))]


def describe(outfit: Outfit) -> list[str]:
    """The outfit as prompt items ("red striped t-shirt"), in the words the recolor backend reads."""
    garments: list[Garment] = [g for g in (outfit.coat, outfit.top, outfit.bottom, outfit.scarf, outfit.shoes) if g]
    return [" ".join(w for w in (colour_name(g.colour), WORDS[g.texture], WORDS.get(g.kind, g.kind)) if w)
            for g in garments]


def copied_outfits(params: FiguresParams, test_pids: list[int]) -> dict[int, int]:
    """Tempted test pid -> the other test pid whose outfit 1 it wears on camera 4."""
    rng = keyed_rng(params.seed, 5)
    count = int(round(params.tempting_fraction * len(test_pids)))
    chosen = sorted(int(p) for p in rng.choice(test_pids, count, replace=False))
    donors = {}
    for pid in chosen:
        others = [p for p in test_pids if p != pid]
        donors[pid] = int(others[int(rng.integers(len(others)))])
    return donors


def plan_shots(params: FiguresParams) -> tuple[list[Shot], dict[int, int]]:
    shots: list[Shot] = []
    for pid in range(1, params.train_ids + 1):
        for outfit in range(1, params.outfits_per_id + 1):
            cams = keyed_rng(params.seed, 4, pid, outfit).choice(CAMERAS, params.train_cameras_per_outfit, replace=False)
            for cam in sorted(int(c) for c in cams):
                for n in range(params.images_per_camera):
                    shots.append(Shot("train", pid, cam, outfit, n + 1, (pid, outfit)))
    test_pids = list(range(params.train_ids + 1, params.train_ids + params.test_ids + 1))
    donors = copied_outfits(params, test_pids)
    extra = params.outfits_per_id - 2  # outfits 3.. appear on camera 1
    for pid in test_pids:
        for cam in CAMERAS:
            for n in range(params.images_per_camera):
                outfit = {2: 1, 3: 1, 4: 2}.get(cam) or (3 + n % extra if extra else 1)
                wears = (donors[pid], 1) if outfit == 2 and pid in donors else (pid, outfit)
                shots.append(Shot("query" if n == 0 else "gallery", pid, cam, outfit, n + 1, wears))
    return shots, donors


def _draw(params: FiguresParams, shot: Shot, staging: Path, people: dict, outfits: dict, cameras: dict) -> None:
    rng = keyed_rng(params.seed, 6, SPLITS.index(shot.folder), shot.pid, shot.camera, shot.outfit, shot.index)
    image, labels = render_image(people[shot.pid], outfits[shot.wears], cameras[shot.camera], rng,
                                 params.height, params.width)
    image.save(staging / DATASET_FOLDER / shot.folder / f"{shot.stem}.jpg", format="JPEG", quality=params.jpeg_quality)
    labels.save(staging / "parsing" / shot.folder / f"{shot.stem}.png", format="PNG")


def write_figures_dataset(params: FiguresParams) -> dict:
    """Draw the whole tree into a hidden sibling folder, then rename it over ``params.root``; returns counts."""
    started = time.perf_counter()
    root = Path(params.root)
    shots, donors = plan_shots(params)
    pids = sorted({s.pid for s in shots})
    people = {pid: sample_identity(params.seed, pid) for pid in pids}
    outfits = {(pid, n + 1): o for pid in pids for n, o in enumerate(sample_outfits(params.seed, pid, params.outfits_per_id))}
    cameras = {cam: sample_camera(params.seed, cam) for cam in CAMERAS}
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        for split in SPLITS:
            (staging / DATASET_FOLDER / split).mkdir(parents=True)
            (staging / "parsing" / split).mkdir(parents=True)
        for shot in shots:
            _draw(params, shot, staging, people, outfits, cameras)
        summary = {
            "renderer": params.renderer, "root": str(root), "images": len(shots), "parsing_maps": len(shots),
            "tempting": [{"pid": p, "outfit": 2, "donor_pid": d, "donor_outfit": 1} for p, d in donors.items()],
            "splits": {split: _counts([s for s in shots if s.folder == split]) for split in SPLITS},
            # keyed like the loader's clothes_raw; a copied outfit is described by what is drawn
            "outfits": {f"{s.pid:04d}_{s.outfit:02d}": describe(outfits[s.wears]) for s in shots},
        }
        record = {"params": params.model_dump(mode="json"), **summary}
        (staging / MARKER).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        old = root.parent / f".{root.name}.old-{uuid.uuid4().hex[:8]}"
        if root.exists():
            os.replace(root, old)
        os.replace(staging, root)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def _counts(shots: list[Shot]) -> dict:
    return {"ids": len({s.pid for s in shots}), "outfits": len({(s.pid, s.outfit) for s in shots}),
            "cameras": len({s.camera for s in shots}), "images": len(shots)}
