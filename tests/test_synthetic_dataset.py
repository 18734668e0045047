"""The embedded synthetic dataset: layout, parsing maps, split design, determinism, LTCC round trip."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlcr_reid.datasets import index_dataset
from dlcr_reid.datasets.synthetic.write import MARKER, plan_dataset, write_synthetic_dataset
from dlcr_reid.params import DatasetSpec, SyntheticParams

LTCC_NAME = re.compile(r"^(\d+)_(\d+)_c(\d+)_\d+\.png$")
NOT_CLOTHES = {0, 1, 2, 13, 14, 15, 16, 17}
LIP_IDS = set(range(20))


def tiny(root: Path, seed: int = 3) -> SyntheticParams:
    return SyntheticParams(root=root, seed=seed, train_ids=3, test_ids=3, outfits_per_id=3, cameras=3,
                           train_cameras_per_outfit=2, train_images_per_camera=2, gallery_outfits=1,
                           gallery_cameras_per_outfit=2, gallery_images_per_camera=2,
                           query_images_per_outfit=2, trap_fraction=0.5, height=64, width=32)


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[SyntheticParams, dict]:
    params = tiny(tmp_path_factory.mktemp("synth") / "synthetic")
    return params, write_synthetic_dataset(params)


def test_layout_counts_and_parsing_maps(written):
    params, summary = written
    root = params.root
    # 3 train ids x 3 outfits x 2 cameras x 2 images; gallery 3 ids x 1 outfit x 2 cams x 2; query 3 x 3 x 2
    assert {split: c["images"] for split, c in summary["splits"].items()} == {"train": 36, "query": 18, "gallery": 12}
    assert (root / MARKER).is_file() and json.loads((root / MARKER).read_text())["images"] == 66
    assert not list(root.parent.glob(".synthetic.*")), "staging folder left behind"
    for folder in ("train", "query", "test"):
        images = sorted((root / folder).glob("*.png"))
        assert images and all(LTCC_NAME.match(p.name) for p in images)
        for path in images:
            image, labels = Image.open(path), Image.open(root / "parsing" / folder / path.name)
            assert image.mode == "RGB" and labels.mode == "L" and image.size == labels.size == (32, 64)
            ids = set(np.unique(np.asarray(labels)).tolist())
            assert ids <= LIP_IDS and 0 in ids and ids - NOT_CLOTHES, f"{path.name}: no clothes drawn"
            assert {2, 13} & ids or 13 in ids  # a head is always drawn (hair and/or face)


def test_round_trip_through_ltcc_and_synthetic_loaders(written):
    params, summary = written
    for fmt in ("ltcc", "synthetic"):
        index = index_dataset("synth", DatasetSpec(format=fmt, root=params.root))
        assert not index.attrs.get("unmatched")
        counts = index.groupby("split").agg(images=("path", "size"), ids=("pid", "nunique"),
                                            outfits=("clothes_raw", "nunique"))
        for split, expected in summary["splits"].items():
            assert counts.loc[split].to_dict() == {k: expected[k] for k in ("images", "ids", "outfits")}
        train_ids = set(index.loc[index.split == "train", "pid_raw"])
        test_ids = set(index.loc[index.split != "train", "pid_raw"])
        assert train_ids.isdisjoint(test_ids)
    assert index["parsing_path"].notna().all()
    assert all(Path(p).is_file() for p in index["parsing_path"])


def test_queries_have_clothes_changing_and_same_clothes_matches(written):
    params, _ = written
    index = index_dataset("synth", DatasetSpec(format="synthetic", root=params.root))
    query, gallery = index[index.split == "query"], index[index.split == "gallery"]
    cc = sc = 0
    for row in query.itertuples():
        same = gallery[(gallery.pid == row.pid) & (gallery.camid != row.camid)]
        cc += bool((same.clothes_raw != row.clothes_raw).any())
        sc += bool((same.clothes_raw == row.clothes_raw).any())
    assert cc >= len(query) * 0.6 and sc > 0
    assert set(query.clothes_raw) - set(gallery.clothes_raw), "some query outfits must be absent from the gallery"


def test_trap_outfits_copy_another_test_identity():
    params = tiny(Path("unused"), seed=0).model_copy(update={"trap_fraction": 1.0})
    world = plan_dataset(params)
    assert world.trap_outfits
    for (pid, number), (other, source) in world.trap_outfits.items():
        assert other != pid and world.outfits[pid, number] == world.outfits[other, source]
        assert number >= params.gallery_outfits and source < params.gallery_outfits


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    first = tree_hashes(Path(write_synthetic_dataset(tiny(tmp_path / "a" / "synthetic"))["root"]))
    second = tree_hashes(Path(write_synthetic_dataset(tiny(tmp_path / "b" / "synthetic"))["root"]))
    assert first == second
    other = tree_hashes(Path(write_synthetic_dataset(tiny(tmp_path / "c" / "synthetic", seed=4))["root"]))
    assert len(other) == len(first) and other != first


def test_rewrite_replaces_old_dataset_whole(tmp_path):
    root = tmp_path / "synthetic"
    write_synthetic_dataset(tiny(root))
    (root / "train" / "999_00_c1_000.png").write_bytes(b"stale")
    write_synthetic_dataset(tiny(root))
    assert not (root / "train" / "999_00_c1_000.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic"]


def test_identity_is_constant_and_outfits_differ_within_a_person():
    world = plan_dataset(SyntheticParams(root=Path("unused")))
    for pid in list(world.identities)[:20]:
        outfits = [world.outfits[pid, k] for k in range(4)]
        if any((pid, k) in world.trap_outfits for k in range(4)):
            continue
        assert len({o.top_colour for o in outfits}) == 4 and len({o.lower_colour for o in outfits}) >= 3


def test_default_size_suits_the_cpu_demo():
    world = plan_dataset(SyntheticParams(root=Path("unused")))
    train = [i for i in world.images if i.folder == "train"]
    assert 1500 <= len(train) <= 2500 and 60 <= len(world.identities) <= 100


def test_one_palette_for_the_dataset_and_the_colour_vocabulary():
    # the describer's colour words must be the colours the dataset paints: one object, not a copy
    from dlcr_assets.garments import COLOURS
    from dlcr_reid.datasets.synthetic import render
    from dlcr_reid.palette import PALETTE

    assert COLOURS is PALETTE and render.PALETTE is PALETTE
