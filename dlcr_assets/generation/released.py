"""Interop with the published DLCR data: one PNG strip (h x 10w) + one .txt of outfits per source image.

The released files are named after the source image (``<stem>.png`` / ``<stem>.txt``, possibly in
sub-folders mirroring the dataset); each .txt line is one variant's outfit, items joined by "|".
``import_released`` cuts the strips into our per-variant PNGs and manifest rows; ``export_released``
writes our manifest back out in that format.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
from PIL import Image

from dlcr_assets.errors import StepInputError
from dlcr_assets.generation.manifest import as_manifest
from dlcr_assets.masks.naming import relative_keys
from dlcr_reid.io import atomic_write, save_table
from dlcr_reid.progress import progress

RELEASED_MODEL_ID = "runwayml/stable-diffusion-inpainting"


def _items_to_prompt(line: str) -> str:
    return ", ".join(item.strip() for item in line.split("|") if item.strip())


def _prompt_to_items(prompt: str) -> str:
    return "|".join(item.strip() for item in str(prompt).split(",") if item.strip())


def _match_index(strip: Path, folder: Path, by_stem: dict[str, list[int]], paths: list[str]) -> int | None:
    """The index row a released strip belongs to: same stem, disambiguated by the trailing sub-path."""
    candidates = by_stem.get(strip.stem, [])
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    tail = strip.relative_to(folder).with_suffix("").as_posix()
    matching = [i for i in candidates if Path(paths[i]).with_suffix("").as_posix().endswith(tail)]
    return matching[0] if len(matching) == 1 else None


def import_released(folder: Path, index: pd.DataFrame, dataset: str, out_dir: Path, manifest_path: Path) -> pd.DataFrame:
    """Read released strips under ``folder`` into ``<out_dir>/<split>/<rel>_vNN.png`` and a manifest."""
    folder, out_dir = Path(folder), Path(out_dir).resolve()
    strips = sorted(p for p in folder.rglob("*.png") if p.with_suffix(".txt").is_file())
    if not strips:
        raise StepInputError(f"{folder}: no released DLCR files found (expected <name>.png strips with a <name>.txt beside each)")
    index = index.reset_index(drop=True)
    paths = index["path"].astype(str).tolist()
    keys = relative_keys(index).tolist()
    by_stem: dict[str, list[int]] = {}
    for i, path in enumerate(paths):
        by_stem.setdefault(Path(path).stem, []).append(i)
    rows, unmatched = [], []
    for strip in progress(strips, desc="import released", unit="img"):
        row_id = _match_index(strip, folder, by_stem, paths)
        if row_id is None:
            unmatched.append(str(strip))
            continue
        outfits = [line for line in strip.with_suffix(".txt").read_text().splitlines() if line.strip()]
        with Image.open(strip) as image:
            strip_image = image.convert("RGB")
        with Image.open(paths[row_id]) as source:
            width = source.width
        count = strip_image.width // width
        if count * width != strip_image.width or count != len(outfits):
            raise StepInputError(
                f"{strip}: strip is {strip_image.width} px wide, source is {width} px, and the .txt has "
                f"{len(outfits)} lines: expected {len(outfits)} variants of width {width}"
            )
        for variant, line in enumerate(outfits):
            target = out_dir / f"{keys[row_id]}_v{variant:02d}.png"
            with atomic_write(target) as tmp:
                strip_image.crop((variant * width, 0, (variant + 1) * width, strip_image.height)).save(tmp, format="PNG")
            prompt = _items_to_prompt(line)
            rows.append({"dataset": dataset, "source_path": paths[row_id], "variant": variant,
                         "outfit_key": "released-" + hashlib.blake2b(prompt.encode(), digest_size=6).hexdigest(),
                         "prompt": prompt, "seed": -1, "backend": "released", "model_id": RELEASED_MODEL_ID,
                         "path": str(target), "status": "ok", "error": None})
    manifest = as_manifest(pd.DataFrame.from_records(rows))
    manifest.attrs["unmatched"] = unmatched
    save_table(manifest, manifest_path)
    return manifest


def export_released(manifest: pd.DataFrame, out_folder: Path) -> list[Path]:
    """Write each source image's ok variants as one strip PNG (in variant order) + .txt; returns the PNGs."""
    out_folder = Path(out_folder)
    ok = manifest[manifest["status"] == "ok"].sort_values(["source_path", "variant"])
    if ok.empty:
        return []
    sources = ok["source_path"].drop_duplicates().tolist()
    root = os.path.commonpath([os.path.dirname(p) for p in sources])
    written = []
    for source, rows in progress(ok.groupby("source_path", sort=True), desc="export released", unit="img"):
        images = []
        for path in rows["path"]:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        strip = Image.new("RGB", (sum(i.width for i in images), max(i.height for i in images)))
        x = 0
        for image in images:
            strip.paste(image, (x, 0))
            x += image.width
        target = out_folder / Path(os.path.relpath(source, root)).with_suffix(".png")
        with atomic_write(target) as tmp:
            strip.save(tmp, format="PNG")
        with atomic_write(target.with_suffix(".txt")) as tmp:
            tmp.write_text("\n".join(_prompt_to_items(p) for p in rows["prompt"]) + "\n")
        written.append(target)
    return written
