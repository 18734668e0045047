"""Generation resume: which planned images are done, which are on disk without a row, which are stale.

Every planned image gets a fingerprint (dlcr_assets.fingerprint) of what determines its pixels: the
backend's ``pixel_settings()`` (backend, model id and revision, sampler settings, dtype, size), the
prompt, the seed, and the content digests of its inputs (source image, mask, and the label map when
the backend reads one). An image is done when the manifest lists it as ok with the same fingerprint
and it is on disk; a different fingerprint makes it stale: it is regenerated (overwritten
atomically) and its row replaced.

Input digests: each distinct input file is hashed once and remembered by (path, size, mtime) in
``<out_dir>/manifest/digests-<k>-of-<n>.parquet``, so a resume costs one ``stat`` per input file
(not per variant) and rereads only files that changed; an unchanged rewrite (same bytes, new
mtime) is rehashed and keeps its digest, so it makes nothing stale.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dlcr_assets.fingerprint import FileDigests, extend, extend_rows, fingerprint
from dlcr_assets.generation.columnar import plan_column, plan_images, set_plan_fingerprints
from dlcr_assets.generation.manifest import FAILED, ok_manifest_fingerprints
from dlcr_assets.generation.planning import PlannedImage
from dlcr_assets.inpainting.base import Inpainter

log = logging.getLogger(__name__)

_ABSENT = object()
# bump when the engine changes what it writes for the same inputs (compositing, PNG encoding)
ENGINE_FORMAT = "generation/1"


def tmp_path(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.tmp")


def digests_path(out_dir: Path, shard: tuple[int, int]) -> Path:
    return Path(out_dir, "manifest", f"digests-{shard[0]}-of-{shard[1]}.parquet")


def settings_fingerprint(inpainter: Inpainter) -> str:
    """The part of every row's fingerprint that the backend fixes (same for the whole run)."""
    return fingerprint({"engine": ENGINE_FORMAT, **inpainter.pixel_settings()})


def fingerprint_plan(plan: Sequence[PlannedImage], inpainter: Inpainter, digests: FileDigests) -> None:
    """Set the fingerprint of every planned image (inputs hashed once per source image), column by column."""
    base = settings_fingerprint(inpainter)
    with_labels = inpainter.needs_label_map
    sources, masks = plan_column(plan, "source_path"), plan_column(plan, "mask_path")
    labels = plan_column(plan, "parsing_path") if with_labels else [None] * len(sources)
    by_inputs: dict[tuple, str] = {}
    of_inputs: list[str] = []
    last_inputs, last = None, ""
    for inputs in zip(sources, masks, labels):
        if inputs != last_inputs:  # a source's variants are consecutive in a plan: one lookup per source
            last = by_inputs.get(inputs)
            if last is None:
                last = by_inputs[inputs] = extend(base, digests(inputs[0]), digests(inputs[1]), digests(inputs[2]))
            last_inputs = inputs
        of_inputs.append(last)
    set_plan_fingerprints(plan, extend_rows(of_inputs, plan_column(plan, "prompt"), plan_column(plan, "seed")))


@dataclass
class ResumeSplit:
    """pending: to generate (stale ones included); adopted: on disk but missing from the manifest;
    stale: listed as ok with another fingerprint (regenerated)."""

    pending: list[PlannedImage] = field(default_factory=list)
    adopted: list[PlannedImage] = field(default_factory=list)
    stale: list[PlannedImage] = field(default_factory=list)

    def __iter__(self):  # ``pending, adopted = split_done(...)`` as before fingerprints
        return iter((self.pending, self.adopted))


def split_done(plan: Sequence[PlannedImage], out_dir: Path, manifest_path: Path) -> ResumeSplit:
    """Split a fingerprinted plan into pending / adopted / stale against the manifest and the disk.

    An unfingerprinted plan (fingerprint None) matches on path and status only. Also deletes this
    plan's leftover temp files (a killed run's half-written images). Works on the plan's columns:
    only the images in the split become objects.
    """
    ok = ok_manifest_fingerprints(out_dir, manifest_path)
    paths, fingerprints = plan_column(plan, "path"), plan_column(plan, "fingerprint")
    on_disk: set[str] = set()
    for folder in {path[:path.rfind(os.sep)] for path in paths}:
        try:
            with os.scandir(folder) as entries:
                on_disk.update(os.path.join(folder, entry.name) for entry in entries)
        except FileNotFoundError:
            pass
    leftovers = {name for name in on_disk if name.endswith(".tmp")}
    pending: list[int] = []
    adopted: list[int] = []
    stale: list[int] = []
    for row, (path, mine) in enumerate(zip(paths, fingerprints)):
        if path in on_disk:
            listed = ok.get(path, _ABSENT)
            if listed is _ABSENT:
                # a kill between the rename and the manifest flush: the plan is deterministic, so the
                # file is this job's output of this run's settings (the kill was seconds ago)
                adopted.append(row)
            elif listed == FAILED:  # its last attempt failed: the file is an older image, redo it
                pending.append(row)
            elif mine is not None and listed != mine:
                stale.append(row)
                pending.append(row)
            continue
        if leftovers and tmp_path(path) in leftovers:
            os.remove(tmp_path(path))
        pending.append(row)
    split = ResumeSplit(pending=plan_images(plan, pending), adopted=plan_images(plan, adopted),
                        stale=plan_images(plan, stale))
    if split.stale:
        unfingerprinted = sum(1 for job in split.stale if ok[job.path] is None)
        log.info("%d generated images are stale (settings, prompts or inputs changed%s): regenerating them",
                 len(split.stale), f"; {unfingerprinted} rows predate fingerprints" if unfingerprinted else "")
    return split
