"""Generation run: a reader thread prefetches inputs, the model inpaints, a writer pool composites and saves.

The model never waits for disk: the reader loads the next batches' images, masks (and label maps
when the backend reads them) while the backend works, and the writer threads paste each output
inside its mask and write it atomically. Manifest rows reach the part files only after their
images exist, so a crash loses no finished work.
"""
from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PIL import Image

from dlcr_assets.generation.manifest import PartWriter
from dlcr_assets.generation.planning import PlannedImage
from dlcr_assets.generation.resume import tmp_path
from dlcr_assets.inpainting.base import InpaintJob, Inpainter
from dlcr_assets.params.generation import CPU_BATCH, GenerationParams
from dlcr_reid.progress import progress


def manifest_row(job: PlannedImage, dataset: str, inpainter: Inpainter, status: str, error: str | None) -> dict:
    return {"dataset": dataset, "source_path": job.source_path, "variant": job.variant, "outfit_key": job.outfit_key,
            "prompt": job.prompt, "seed": job.seed, "backend": inpainter.backend, "model_id": inpainter.model_id,
            "path": job.path, "status": status, "error": error, "fingerprint": job.fingerprint}


def _load_inputs(jobs: list[PlannedImage], with_labels: bool) -> list[InpaintJob | str]:
    """An InpaintJob per planned image, or the error text when its inputs cannot be read."""
    cache: dict[str, InpaintJob | str] = {}
    loaded: list[InpaintJob | str] = []
    for job in jobs:
        if job.source_path not in cache:  # the variants of one image share their inputs
            try:
                if job.mask_status != "ok":
                    raise ValueError(f"mask status is {job.mask_status}")
                with Image.open(job.source_path) as image:
                    source = image.convert("RGB")
                with Image.open(job.mask_path) as mask_file:
                    mask = mask_file.convert("L")
                if mask.size != source.size:
                    raise ValueError(f"mask {job.mask_path} is {mask.size}, image is {source.size}")
                labels = None
                if with_labels and job.parsing_path:
                    with Image.open(job.parsing_path) as label_file:
                        labels = np.asarray(label_file, dtype=np.uint8)
                cache[job.source_path] = InpaintJob(image=source, mask=mask, prompt="", seed=0, label_map=labels)
            except Exception as error:
                cache[job.source_path] = f"{type(error).__name__}: {error}"
        base = cache[job.source_path]
        loaded.append(base if isinstance(base, str) else InpaintJob(
            image=base.image, mask=base.mask, prompt=job.prompt, seed=job.seed, label_map=base.label_map))
    return loaded


def composite_and_save(source: Image.Image, mask: Image.Image, generated: Image.Image, path: str) -> None:
    """Paste ``generated`` inside the mask (outside pixels stay the source's), write atomically."""
    source_pixels = np.asarray(source)
    if generated.size != source.size:
        generated = generated.resize(source.size, Image.BICUBIC)
    inside = np.asarray(mask)[..., None] > 127
    pixels = np.where(inside, np.asarray(generated.convert("RGB")), source_pixels)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = tmp_path(path)
    Image.fromarray(pixels).save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, path)


def run_plan(pending: list[PlannedImage], inpainter: Inpainter, params: GenerationParams, writer: PartWriter,
             dataset: str, desc: str = "generate") -> dict:
    """Generate the pending images; rows reach the manifest parts only after their files exist."""
    # batch_size auto: the size the backend chose for its device (its own, else the CPU default)
    batch_size = params.batch_size if params.batch_size != "auto" else getattr(inpainter, "batch_size", CPU_BATCH)
    batches = [pending[i:i + batch_size] for i in range(0, len(pending), batch_size)]
    with_labels = inpainter.needs_label_map  # the backend says whether it reads the parsing labels
    ready: queue.Queue = queue.Queue(maxsize=params.prefetch)
    stop = threading.Event()

    def hand_over(item) -> bool:
        # a bounded put that gives up once the main thread stops (so a crash never strands this thread)
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read_ahead() -> None:
        try:
            for batch in batches:
                if not hand_over((batch, _load_inputs(batch, with_labels))):
                    return
        except BaseException as error:  # surface reader bugs in the main thread
            hand_over(error)
            return
        hand_over(None)

    reader = threading.Thread(target=read_ahead, name="generation-reader", daemon=True)
    reader.start()
    in_flight: list[tuple[PlannedImage, Future]] = []
    counts = {"ok": 0, "failed": 0}
    bar = progress(total=len(pending), desc=desc, unit="img", smoothing=0.1)

    def collect(wait_all: bool) -> None:
        still: list[tuple[PlannedImage, Future]] = []
        finished = []
        for job, future in in_flight:
            if wait_all or future.done():
                try:
                    future.result()
                    finished.append(manifest_row(job, dataset, inpainter, "ok", None))
                except Exception as error:
                    finished.append(manifest_row(job, dataset, inpainter, "failed", f"{type(error).__name__}: {error}"))
            else:
                still.append((job, future))
        in_flight[:] = still
        for row in finished:
            counts[row["status"]] += 1
        writer.add(finished)
        bar.update(len(finished))

    with ThreadPoolExecutor(max_workers=params.num_workers, thread_name_prefix="generation-writer") as pool:
        try:
            while True:
                item = ready.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                batch, loaded = item
                failed = [(job, inputs) for job, inputs in zip(batch, loaded) if isinstance(inputs, str)]
                good = [(job, inputs) for job, inputs in zip(batch, loaded) if not isinstance(inputs, str)]
                rows = [manifest_row(job, dataset, inpainter, "failed", error) for job, error in failed]
                counts["failed"] += len(rows)
                writer.add(rows)
                bar.update(len(rows))
                if good:
                    outputs = inpainter.inpaint([inputs for _, inputs in good])
                    for (job, inputs), output in zip(good, outputs):
                        in_flight.append((job, pool.submit(composite_and_save, inputs.image, inputs.mask, output, job.path)))
                collect(wait_all=False)
                writer.flush_if_due()
        finally:
            # whatever happened, finished images get their rows: a crash loses no finished work
            stop.set()
            collect(wait_all=True)
            writer.flush()
            bar.close()
            reader.join(timeout=5)
    return {**counts, "images_per_s": bar.format_dict.get("rate")}
