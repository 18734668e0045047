"""Engine at scale and at the edges: shards, kill -9 and resume, bad inputs, query variants, released format."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dlcr_assets.errors import StepInputError
from dlcr_assets.generation import export_released, generate_images, generate_query_variants, import_released
from dlcr_assets.generation.engine import plan_generation
from dlcr_assets.masks import make_clothing_masks
from dlcr_assets.params.generation import GenerationParams
from dlcr_assets.params.masks import MasksParams
from test_generation_engine import PaintInpainter
from tiny_vision_models import make_tiny_dataset

TESTS = Path(__file__).parent


@pytest.fixture()
def tiny(tmp_path):
    index, prompts = make_tiny_dataset(tmp_path / "raw")
    masks = make_clothing_masks(index, MasksParams(), tmp_path / "masks" / "tiny")
    return tmp_path, index, masks, prompts


def _generate(tmp_path, index, masks, prompts, params, shard=(0, 1), inpainter=None):
    return generate_images(index, masks, prompts, params, tmp_path / "generated" / "tiny",
                           tmp_path / "generated" / "tiny.parquet", shard=shard, dataset="tiny",
                           inpainter=inpainter or PaintInpainter())


def test_shards_partition_the_work_exactly(tiny):
    tmp_path, index, masks, prompts = tiny
    params = GenerationParams(variants_per_image=2, batch_size=3)
    full = {(p.source_path, p.variant) for p in plan_generation(index, masks, prompts, params, tmp_path, "tiny")}
    per_shard = [{(p.source_path, p.variant) for p in plan_generation(index, masks, prompts, params, tmp_path, "tiny", (k, 3))}
                 for k in range(3)]
    assert all(per_shard) and sum(map(len, per_shard)) == len(full) and set.union(*per_shard) == full
    for k in range(3):
        manifest = _generate(tmp_path, index, masks, prompts, params, shard=(k, 3))
    assert set(zip(manifest["source_path"], manifest["variant"])) == full and len(manifest) == len(full)
    shard_folders = list((tmp_path / "generated" / "tiny" / "manifest").glob("shard-*-of-3"))
    assert len(shard_folders) == 3 and all(len(list(f.glob("part-*.parquet"))) == 1 for f in shard_folders)
    # a re-run of a shard finds everything done
    again = _generate(tmp_path, index, masks, prompts, params, shard=(1, 3))
    assert again.attrs["run"]["generated"] == 0 and len(again) == len(full)


KILLED_RUN = """
import sys, time
sys.path.insert(0, {tests!r})
import pandas as pd
from dlcr_assets.generation import generate_images
from dlcr_assets.params.generation import GenerationParams
from test_generation_engine import PaintInpainter

class Slow(PaintInpainter):
    def inpaint(self, jobs):
        time.sleep(0.15)
        return super().inpaint(jobs)

index = pd.read_parquet({index!r}); masks = pd.read_parquet({masks!r}); prompts = pd.read_parquet({prompts!r})
generate_images(index, masks, prompts, GenerationParams(variants_per_image=3, batch_size=2), {out!r}, {manifest!r},
                dataset="tiny", inpainter=Slow())
"""


def test_kill_9_mid_run_then_resume(tiny):
    tmp_path, index, masks, prompts = tiny
    for name, table in (("index", index), ("masks", masks), ("prompts", prompts)):
        table.to_parquet(tmp_path / f"{name}.parquet")
    out_dir, manifest_path = tmp_path / "generated" / "tiny", tmp_path / "generated" / "tiny.parquet"
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN.format(tests=str(TESTS), index=str(tmp_path / "index.parquet"),
                                        masks=str(tmp_path / "masks.parquet"), prompts=str(tmp_path / "prompts.parquet"),
                                        out=str(out_dir), manifest=str(manifest_path)))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out_dir.rglob("*_v*.png"))) < 10:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    first_files = {p: p.stat().st_mtime_ns for p in out_dir.rglob("*_v*.png")}
    assert 10 <= len(first_files) < 48 and not manifest_path.exists()

    manifest = _generate(tmp_path, index, masks, prompts, GenerationParams(variants_per_image=3, batch_size=2))
    assert len(manifest) == 48 and set(manifest["status"]) == {"ok"}
    assert not manifest.duplicated(["source_path", "variant"]).any()
    assert len(list(out_dir.rglob("*_v*.png"))) == 48 and not list(out_dir.rglob("*.tmp"))
    assert {p: p.stat().st_mtime_ns for p in first_files} == first_files


def test_undecodable_source_is_a_failed_row(tiny):
    tmp_path, index, masks, prompts = tiny
    broken = index[index["split"] == "train"]["path"].iloc[2]
    Path(broken).write_bytes(b"not a png")
    manifest = _generate(tmp_path, index, masks, prompts, GenerationParams(variants_per_image=2))
    failed = manifest[manifest["status"] == "failed"]
    assert set(failed["source_path"]) == {broken} and len(failed) == 2
    assert failed["error"].str.contains("UnidentifiedImageError|cannot identify").all()
    assert (manifest["status"] == "ok").sum() == 30


def test_empty_pool_and_single_outfit_are_clear_errors(tiny):
    tmp_path, index, masks, prompts = tiny
    with pytest.raises(StepInputError, match="prompt pool is empty"):
        _generate(tmp_path, index, masks, prompts.iloc[0:0], GenerationParams())
    one_outfit = index[(index["split"] != "train") | (index["clothes_id"] == 0)]
    own = prompts[prompts["outfit_key"] == "0_0"]
    with pytest.raises(StepInputError, match="one outfit"):
        _generate(tmp_path, one_outfit, masks, own, GenerationParams(pool="dataset"))
    assert not (tmp_path / "generated" / "tiny" / "train").exists()
    # novel outfits give a one-outfit dataset somewhere to go
    with_novel = prompts[(prompts["outfit_key"] == "0_0") | (prompts["source"] == "novel")]
    manifest = _generate(tmp_path, one_outfit, masks, with_novel, GenerationParams(pool="dataset+novel"))
    assert len(manifest) == 8 and manifest["outfit_key"].str.startswith("novel").all()


def test_query_variants_use_the_same_k_outfits(tiny):
    tmp_path, index, masks, prompts = tiny
    params = GenerationParams(query_variants=4)
    manifest = generate_query_variants(index, masks, prompts, params, tmp_path / "query_variants" / "tiny",
                                       tmp_path / "query_variants" / "tiny.parquet", dataset="tiny",
                                       inpainter=PaintInpainter())
    queries = index[index["split"] == "query"]["path"]
    assert set(manifest["source_path"]) == set(queries) and len(manifest) == 4 * len(queries)
    ordered = manifest.sort_values(["source_path", "variant"])
    outfits = ordered.groupby("source_path")["outfit_key"].agg(tuple)
    assert outfits.nunique() == 1 and len(set(outfits.iloc[0])) == 4
    assert manifest["path"].str.contains("/query_variants/tiny/query/").all()
    assert all(Path(p).is_file() for p in manifest["path"])


def test_released_format_round_trip(tiny):
    tmp_path, index, masks, prompts = tiny
    manifest = _generate(tmp_path, index, masks, prompts, GenerationParams(variants_per_image=3))
    written = export_released(manifest, tmp_path / "released")
    assert len(written) == 16
    strip = Image.open(written[0])
    assert strip.size == (3 * 32, 64) and len(written[0].with_suffix(".txt").read_text().splitlines()) == 3
    imported = import_released(tmp_path / "released", index, "tiny", tmp_path / "imported" / "tiny",
                               tmp_path / "imported" / "tiny.parquet")
    assert len(imported) == len(manifest) and set(imported["status"]) == {"ok"}
    merged = imported.merge(manifest, on=["source_path", "variant"], suffixes=("_in", "_ours"))
    assert (merged["prompt_in"] == merged["prompt_ours"]).all()
    for _, row in merged.iterrows():
        assert np.array_equal(np.asarray(Image.open(row["path_in"])), np.asarray(Image.open(row["path_ours"])))
    assert imported["path"].iloc[0].endswith("imported/tiny/train/000_1_c1_000_v00.png")
    with pytest.raises(StepInputError, match="no released DLCR files"):
        import_released(tmp_path / "raw" / "parsing", index, "tiny", tmp_path / "x", tmp_path / "x.parquet")
