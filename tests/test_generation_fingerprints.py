"""Fingerprints of generated images: a rerun keeps matching rows, regenerates stale ones, and says how many."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from PIL import Image

from dlcr_assets.errors import StepInputError
from dlcr_assets.fingerprint import FileDigests, content_digest, extend, extend_rows, fingerprint
from dlcr_assets.generation import generate_images, generate_query_variants, plan_generation, shard_rows
from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.params.generation import GenerationParams
from dlcr_assets.params.masks import MasksParams
from dlcr_reid.io import save_table
from test_generation_engine import PaintInpainter
from tiny_vision_models import make_tiny_dataset

PARAMS = GenerationParams(variants_per_image=2, batch_size=4)


@pytest.fixture()
def tiny(tmp_path):
    index, prompts = make_tiny_dataset(tmp_path / "raw")
    masks = make_clothing_masks(index, MasksParams(), tmp_path / "masks" / "tiny")
    return tmp_path, index, masks, prompts


def _run(tmp_path, index, masks, prompts, params=PARAMS, inpainter=None):
    return generate_images(index, masks, prompts, params, tmp_path / "gen" / "tiny", tmp_path / "gen" / "tiny.parquet",
                           device="cpu", dataset="tiny", inpainter=inpainter or PaintInpainter())


def _files(manifest) -> dict[str, tuple[int, bytes]]:
    return {p: (Path(p).stat().st_mtime_ns, Path(p).read_bytes()) for p in manifest["path"]}


def test_fingerprint_is_canonical_and_file_digests_are_cached(tmp_path):
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2}) and len(fingerprint({})) == 16
    assert extend("x", "prompt", 3) != extend("x", "prompt", 4)
    assert extend_rows(["x", "y"], ["p", "q"], [3, 4]) == [extend("x", "p", 3), extend("y", "q", 4)]
    assert extend_rows(["x"], ["p"], [3], [True]) == [extend("x", "p", 3, True)]
    file = tmp_path / "f.bin"
    file.write_bytes(b"one")
    digests = FileDigests(tmp_path / "cache.parquet")
    first = digests(file)
    assert first == content_digest(file) and digests(None) is None and digests(tmp_path / "no") == "missing"
    digests.save()
    again = FileDigests(tmp_path / "cache.parquet")
    assert again.known[str(file)][2] == first and not again.changed
    file.write_bytes(b"two")  # new size: rehashed
    assert again(file) != first and again.changed


def test_same_settings_keep_everything(tiny):
    tmp_path, index, masks, prompts = tiny
    first = _run(tmp_path, index, masks, prompts)
    assert first["fingerprint"].notna().all() and first["fingerprint"].nunique() == len(first)
    before = _files(first)
    painter = PaintInpainter()
    again = _run(tmp_path, index, masks, prompts, inpainter=painter)
    assert painter.batches == 0 and again.attrs["run"]["stale"] == 0 and again.attrs["run"]["generated"] == 0
    assert _files(again) == before  # not rewritten: same mtimes, same bytes
    assert again["fingerprint"].tolist() == first["fingerprint"].tolist()
    # a rewrite of a mask with the same bytes (a masks rerun) makes nothing stale either
    mask = Path(masks["mask_path"].iloc[0])
    mask.write_bytes(mask.read_bytes())
    assert _run(tmp_path, index, masks, prompts).attrs["run"]["stale"] == 0


def test_changed_seed_makes_every_image_stale(tiny):
    tmp_path, index, masks, prompts = tiny
    first = _run(tmp_path, index, masks, prompts)
    before = _files(first)
    rerun = _run(tmp_path, index, masks, prompts, params=PARAMS.model_copy(update={"seed": 7}))
    assert rerun.attrs["run"]["stale"] == len(first) == rerun.attrs["run"]["generated"]
    assert len(rerun) == len(first) and not rerun.duplicated(["source_path", "variant"]).any()
    assert set(rerun["seed"]).isdisjoint(set(first["seed"]))
    after = _files(rerun)
    assert all(after[p][1] != before[p][1] for p in before)  # every image regenerated with its new seed
    assert not list((tmp_path / "gen").rglob("*.tmp"))


def test_changed_prompt_makes_only_that_outfits_images_stale(tiny):
    tmp_path, index, masks, prompts = tiny
    first = _run(tmp_path, index, masks, prompts)
    before = _files(first)
    outfit = first["outfit_key"].value_counts().index[0]
    edited = prompts.copy()
    edited.loc[edited["outfit_key"] == outfit, "prompt"] = "bright yellow raincoat, black trousers"
    rerun = _run(tmp_path, index, masks, edited)
    affected = first["outfit_key"] == outfit
    assert rerun.attrs["run"]["stale"] == int(affected.sum()) > 0
    after = _files(rerun)
    for path, was_affected in zip(first["path"], affected):
        assert (after[path][0] != before[path][0]) == was_affected  # only that outfit's files rewritten
    assert set(rerun.loc[rerun["outfit_key"] == outfit, "prompt"]) == {"bright yellow raincoat, black trousers"}


def test_changed_model_or_mask_makes_its_images_stale(tiny):
    tmp_path, index, masks, prompts = tiny
    first = _run(tmp_path, index, masks, prompts)
    other_model = PaintInpainter()
    other_model.model_id = "in-test-v2"
    assert _run(tmp_path, index, masks, prompts, inpainter=other_model).attrs["run"]["stale"] == len(first)
    # one mask file changes (a masks rerun with other settings): only that image's variants are stale
    source = first["source_path"].iloc[0]
    mask_path = Path(masks.set_index("path").at[source, "mask_path"])
    with Image.open(mask_path) as image:
        changed = image.point(lambda v: 255 - v)
    changed.save(mask_path)
    before = _files(first)
    rerun = _run(tmp_path, index, masks, prompts, inpainter=other_model)
    assert rerun.attrs["run"]["stale"] == PARAMS.variants_per_image
    rewritten = {p for p, (mtime, _) in _files(rerun).items() if mtime != before[p][0]}
    assert rewritten == set(first.loc[first["source_path"] == source, "path"])


def test_manifest_from_before_fingerprints_is_stale(tiny, caplog):
    tmp_path, index, masks, prompts = tiny
    first = _run(tmp_path, index, masks, prompts)
    manifest_path = tmp_path / "gen" / "tiny.parquet"
    save_table(first.drop(columns=["fingerprint"]), manifest_path)  # as written before fingerprints
    for part in (tmp_path / "gen" / "tiny" / "manifest").rglob("part-*.parquet"):
        save_table(pd.read_parquet(part).drop(columns=["fingerprint"]), part)
    with caplog.at_level("INFO"):
        rerun = _run(tmp_path, index, masks, prompts)
    assert rerun.attrs["run"]["stale"] == len(first) and "predate fingerprints" in caplog.text
    assert rerun["fingerprint"].tolist() == first["fingerprint"].tolist()
    assert _run(tmp_path, index, masks, prompts).attrs["run"]["stale"] == 0


def test_plan_passed_in_is_used_and_exposed(tiny):
    tmp_path, index, masks, prompts = tiny
    plan = plan_generation(index, masks, prompts, PARAMS, tmp_path / "gen" / "tiny", "tiny")
    part = plan[:4]
    manifest = generate_images(index, masks, prompts, PARAMS, tmp_path / "gen" / "tiny", tmp_path / "gen" / "tiny.parquet",
                               dataset="tiny", inpainter=PaintInpainter(), plan=part)
    assert len(manifest) == 4 and manifest.plan is part  # the caller's plan, not a rebuilt one
    assert len(shard_rows(manifest, part)) == 4
    # without a plan the engine builds the whole one and leaves it on the manifest
    built = generate_images(index, masks, prompts, PARAMS, tmp_path / "gen" / "tiny", tmp_path / "gen" / "tiny.parquet",
                            dataset="tiny", inpainter=PaintInpainter())
    assert [(j.path, j.seed) for j in built.plan] == [(j.path, j.seed) for j in plan]
    assert built.attrs["run"]["skipped"] == 4
    with pytest.raises(StepInputError, match="outside the output folder"):
        generate_images(index, masks, prompts, PARAMS, tmp_path / "elsewhere", tmp_path / "elsewhere.parquet",
                        dataset="tiny", inpainter=PaintInpainter(), plan=plan)


def test_query_variants_have_fingerprints(tiny):
    tmp_path, index, masks, prompts = tiny
    params = PARAMS.model_copy(update={"query_variants": 2})
    args = (index, masks, prompts, params, tmp_path / "qv" / "tiny", tmp_path / "qv" / "tiny.parquet")
    first = generate_query_variants(*args, dataset="tiny", inpainter=PaintInpainter())
    assert first["fingerprint"].notna().all()
    assert generate_query_variants(*args, dataset="tiny", inpainter=PaintInpainter()).attrs["run"]["stale"] == 0
    reseeded = generate_query_variants(index, masks, prompts, params.model_copy(update={"seed": 3}), *args[4:],
                                       dataset="tiny", inpainter=PaintInpainter())
    assert reseeded.attrs["run"]["stale"] == int((first["status"] == "ok").sum())


def test_a_failed_regeneration_does_not_leave_the_stale_image_listed(tiny):
    tmp_path, index, masks, prompts = tiny
    first = _run(tmp_path, index, masks, prompts)
    source = Path(first["source_path"].iloc[0])
    original = source.read_bytes()
    source.write_bytes(b"not a png")  # its inputs changed (stale) and cannot be read (the redo fails)
    rerun = _run(tmp_path, index, masks, prompts)
    mine = rerun["source_path"] == str(source)
    assert rerun.attrs["run"]["stale"] == int(mine.sum()) == PARAMS.variants_per_image
    assert set(rerun.loc[mine, "status"]) == {"failed"} and set(rerun.loc[~mine, "status"]) == {"ok"}
    source.write_bytes(original)  # fixed: the next run redoes exactly those images, ok again
    painter = PaintInpainter()
    fixed = _run(tmp_path, index, masks, prompts, inpainter=painter)
    assert fixed.attrs["run"]["generated"] == PARAMS.variants_per_image and set(fixed["status"]) == {"ok"}
    assert fixed["fingerprint"].tolist() == first["fingerprint"].tolist()
