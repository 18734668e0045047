"""Writes the embedded synthetic CC-ReID dataset (`dlcr synthetic-dataset`): LTCC layout plus ground-truth parsing maps.

What the split plan encodes (the point of the dataset): clothes are large, saturated, distinct per
outfit and therefore the easiest cue to memorise on the training split; identity (skin, hair, head,
body, facial marks, stance) stays the same across outfits and is learnable but less salient. The
test split sets the trap a clothes-matcher falls into: part of the query-only outfits of a person
are copies of ANOTHER test person's gallery outfit.

Layout under ``params.root``::

    {train,query,test}/<pid:03d>_<outfit:02d>_c<cam>_<index:03d>.png      test/ is the gallery
    parsing/{train,query,test}/<same name>.png                          LIP label ids, mode "L"
    synthetic.json                                                      params + counts, written last

Every image draws its randomness from its own key (seed, split, pid, outfit, camera, index), so the
bytes do not depend on the order of work and two runs with one seed are identical.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from dlcr_reid.progress import progress

from dlcr_reid.datasets.synthetic.people import Camera, Identity, Outfit, sample_camera, sample_identity, sample_outfits
from dlcr_reid.datasets.synthetic.render import render_person
from dlcr_reid.params.synthetic import SyntheticParams

MARKER = "synthetic.json"
SPLIT_FOLDERS = ("train", "query", "test")  # test = gallery, as in LTCC
_SPLIT_KEYS = {"train": 0, "query": 1, "test": 2}


@dataclass(frozen=True)
class PlannedImage:
    folder: str            # train | query | test
    pid: int               # raw person id written into the file name (train 1.., test after train)
    outfit: int            # outfit number of this person
    camera: int            # 1-based camera number
    index: int

    @property
    def name(self) -> str:
        return f"{self.pid:03d}_{self.outfit:02d}_c{self.camera}_{self.index:03d}.png"


@dataclass(frozen=True)
class SyntheticWorld:
    """Everything sampled before drawing: people, their outfits, the cameras and the image plan."""

    identities: dict[int, Identity]
    outfits: dict[tuple[int, int], Outfit]
    cameras: dict[int, Camera]
    images: list[PlannedImage]
    trap_outfits: dict[tuple[int, int], tuple[int, int]]  # (pid, outfit) -> copied (pid, outfit)


def _rng(params: SyntheticParams, *key: int) -> np.random.Generator:
    return np.random.default_rng([params.seed, *key])


def plan_dataset(params: SyntheticParams) -> SyntheticWorld:
    """Sample identities, outfits and cameras and lay out which images each split holds."""
    train_pids = list(range(1, params.train_ids + 1))
    test_pids = list(range(params.train_ids + 1, params.train_ids + params.test_ids + 1))
    identities = {pid: sample_identity(_rng(params, 1, pid)) for pid in train_pids + test_pids}
    cameras = {cam: sample_camera(_rng(params, 2, cam)) for cam in range(1, params.cameras + 1)}
    outfits: dict[tuple[int, int], Outfit] = {}
    for pid in train_pids + test_pids:
        for number, outfit in enumerate(sample_outfits(_rng(params, 3, pid), params.outfits_per_id)):
            outfits[pid, number] = outfit

    # The trap: a query-only outfit becomes a copy of another test person's gallery outfit.
    trap_outfits: dict[tuple[int, int], tuple[int, int]] = {}
    trap_rng = _rng(params, 4)
    for pid in test_pids:
        for number in range(params.gallery_outfits, params.outfits_per_id):
            if trap_rng.random() < params.trap_fraction:
                other = int(trap_rng.choice([p for p in test_pids if p != pid]))
                source = (other, int(trap_rng.integers(params.gallery_outfits)))
                outfits[pid, number] = outfits[source]
                trap_outfits[pid, number] = source

    images: list[PlannedImage] = []
    all_cams = np.arange(1, params.cameras + 1)
    for pid in train_pids:
        for number in range(params.outfits_per_id):
            cams = _rng(params, 5, pid, number).choice(all_cams, params.train_cameras_per_outfit, replace=False)
            images += [PlannedImage("train", pid, number, int(cam), k * params.train_images_per_camera + i)
                       for k, cam in enumerate(cams) for i in range(params.train_images_per_camera)]
    for pid in test_pids:
        for number in range(params.outfits_per_id):
            order = _rng(params, 6, pid, number).permutation(all_cams)
            if number < params.gallery_outfits:
                # Gallery cameras first; the query of the same clothes uses a camera the gallery lacks
                # (same pid + same camera is junk), so both the SC and the CC protocol have matches.
                gallery_cams = order[:params.gallery_cameras_per_outfit]
                images += [PlannedImage("test", pid, number, int(cam), k * params.gallery_images_per_camera + i)
                           for k, cam in enumerate(gallery_cams) for i in range(params.gallery_images_per_camera)]
                query_cam = order[params.gallery_cameras_per_outfit]
            else:
                query_cam = order[0]
            images += [PlannedImage("query", pid, number, int(query_cam), i)
                       for i in range(params.query_images_per_outfit)]
    return SyntheticWorld(identities, outfits, cameras, images, trap_outfits)


def render_image(params: SyntheticParams, world: SyntheticWorld, item: PlannedImage) -> tuple[np.ndarray, np.ndarray]:
    """The RGB image and the LIP parsing map of one planned image."""
    rng = _rng(params, 7, _SPLIT_KEYS[item.folder], item.pid, item.outfit, item.camera, item.index)
    return render_person(world.identities[item.pid], world.outfits[item.pid, item.outfit],
                         world.cameras[item.camera], rng, params.height, params.width)


def _summary(params: SyntheticParams, world: SyntheticWorld, seconds: float) -> dict:
    splits = {}
    for folder in SPLIT_FOLDERS:
        rows = [i for i in world.images if i.folder == folder]
        splits["gallery" if folder == "test" else folder] = {
            "images": len(rows),
            "ids": len({i.pid for i in rows}),
            "outfits": len({(i.pid, i.outfit) for i in rows}),
            "cameras": len({i.camera for i in rows}),
        }
    return {
        "root": str(params.root),
        "splits": splits,
        "images": len(world.images),
        "parsing_maps": len(world.images),
        "trap_outfits": len(world.trap_outfits),
        "seconds": round(seconds, 2),
        "params": json.loads(params.model_dump_json()),
    }


def write_synthetic_dataset(params: SyntheticParams) -> dict:
    """Draw the dataset and put it at ``params.root`` whole, or not at all; return its statistics.

    The tree is written into a hidden sibling folder and renamed into place at the end (an older
    dataset at ``root`` is replaced only then); ``synthetic.json`` inside it marks completion.
    """
    started = time.perf_counter()
    root = Path(params.root)
    root.parent.mkdir(parents=True, exist_ok=True)
    world = plan_dataset(params)
    staging = root.parent / f".{root.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        for folder in SPLIT_FOLDERS:
            (staging / folder).mkdir(parents=True)
            (staging / "parsing" / folder).mkdir(parents=True)
        for item in progress(world.images, desc="synthetic images", unit="img", mininterval=1.0):
            image, labels = render_image(params, world, item)
            Image.fromarray(image, "RGB").save(staging / item.folder / item.name, optimize=False)
            Image.fromarray(labels, "L").save(staging / "parsing" / item.folder / item.name, optimize=False)
        summary = _summary(params, world, time.perf_counter() - started)
        # Timing and location stay out of the marker: the same seed must give the same bytes anywhere.
        marker = {key: value for key, value in summary.items() if key not in ("seconds", "root")}
        marker["params"] = {key: value for key, value in marker["params"].items() if key != "root"}
        (staging / MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
        old = root.parent / f".{root.name}.old-{uuid.uuid4().hex[:8]}"
        if root.exists():
            os.replace(root, old)
        os.replace(staging, root)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def describe_world(world: SyntheticWorld) -> list[dict]:
    """One row per (pid, outfit): what each person wears, for debugging and documentation."""
    return [{"pid": pid, "outfit": number, **asdict(outfit), "trap_from": world.trap_outfits.get((pid, number))}
            for (pid, number), outfit in sorted(world.outfits.items())]


__all__ = ["MARKER", "PlannedImage", "SyntheticWorld", "describe_world", "plan_dataset", "render_image",
           "write_synthetic_dataset"]
