"""Loading pretrained models by hub id or local folder, with one clear error when that is impossible.

Every ``from_pretrained`` backend (VLM describer, LLM prompt writer, segformer parser, diffusers
inpainter) loads through ``load_pretrained`` so that an id that cannot be loaded (offline machine,
files missing from the cache, a typo) stops the step with a StepInputError that names the id
and says how to make it available, before any image is read.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, TypeVar

from dlcr_assets.errors import StepInputError
from dlcr_reid.device import resolve_device  # noqa: F401  (re-exported: the backends import it from here)

Loaded = TypeVar("Loaded")
log = logging.getLogger(__name__)

# What a failed from_pretrained raises: OSError (missing files, offline, hub errors derive from
# it), ValueError/KeyError (bad repo id, unknown architecture), ImportError (missing extra).
_LOAD_ERRORS = (OSError, ValueError, KeyError, ImportError)


def resolve_dtype(dtype: str, device: str):
    """The torch dtype for a params ``dtype`` name: "auto" is fp16 on CUDA, float32 elsewhere."""
    import torch

    if dtype == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    return getattr(torch, dtype)


def how_to_make_available(model_id: str) -> str:
    """The remedy part of a load error, shared by every backend."""
    from huggingface_hub import constants

    offline = " (HF_HUB_OFFLINE is set, so only the local cache is searched)" if constants.HF_HUB_OFFLINE else ""
    return (
        f"make it available{offline}: on a machine with internet run `huggingface-cli download {model_id}` "
        "(or `hf download`) and copy the Hugging Face cache (HF_HOME / HF_HUB_CACHE) here, "
        "or set model_id in params.yaml to a local folder saved with save_pretrained"
    )


def resolve_model(model_id_or_path: str | Path, what: str) -> str:
    """Return a local folder (absolute) or a hub id to hand to ``from_pretrained``.

    A value that looks like a path (absolute, ./, ../, ~) must exist; anything else is a hub id
    that the loader resolves through the cache or the network.
    """
    text = str(model_id_or_path).strip()
    if not text:
        raise StepInputError(f"{what}: model_id is empty; {how_to_make_available('<org>/<name>')}")
    expanded = Path(text).expanduser()
    if expanded.is_dir():
        return str(expanded.resolve())
    if text.startswith(("/", "./", "../", "~")) or expanded.exists():
        raise StepInputError(
            f"{what}: model folder {text} does not exist or is not a folder saved with save_pretrained"
        )
    _check_hub_id(text, what)
    return text


def _check_hub_id(repo_id: str, what: str) -> None:
    """Fail fast when ``repo_id`` is neither cached nor reachable.

    Without this, an unreachable hub costs minutes: huggingface_hub retries every optional config
    file with backoff before from_pretrained gives up.
    """
    from huggingface_hub import HfApi, constants, snapshot_download

    try:
        snapshot_download(repo_id, local_files_only=True)
        return  # in the local cache; the loader reports anything missing from it
    except Exception:  # noqa: BLE001 - any failure here only means "not cached"
        pass
    if constants.HF_HUB_OFFLINE:
        raise StepInputError(
            f"{what}: {repo_id!r} is not in the Hugging Face cache {constants.HF_HUB_CACHE}; "
            f"{how_to_make_available(repo_id)}"
        )
    try:
        HfApi().model_info(repo_id, timeout=10)
    except Exception as error:  # noqa: BLE001 - network, auth and not-found errors all mean "cannot load"
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise StepInputError(
            f"{what}: cannot load {repo_id!r}: not in the cache {constants.HF_HUB_CACHE} and the hub "
            f"answered {type(error).__name__}: {first_line}; {how_to_make_available(repo_id)}"
        ) from None


def load_pretrained(loader: Callable[..., Loaded], model_id: str | Path, what: str, **kwargs: Any) -> Loaded:
    """Call ``loader(id_or_path, **kwargs)`` (e.g. ``AutoModel.from_pretrained``), wrapping failures.

    ``what`` names the component in the message ("descriptions vlm model", "inpainting pipeline").
    """
    source = resolve_model(model_id, what)
    try:
        return loader(source, **kwargs)
    except _LOAD_ERRORS as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StepInputError(
            f"{what}: cannot load {model_id!r} ({type(error).__name__}: {first_line}); "
            f"{how_to_make_available(str(model_id))}"
        ) from error


def load_text_generator(model_class: Any, processor_class: Any, params: Any, device: str, what: str) -> tuple:
    """(device, processor, tokenizer, model) of a batched text generator (the vlm describer, the llm writer).

    ``params`` has model_id, dtype and seed. The model goes to ``device`` in eval mode; the
    tokenizer (the processor's, or the processor itself) pads on the left, with EOS when it has no
    pad token; torch's seed is set so sampled outputs are reproducible run to run.
    """
    import torch

    device = resolve_device(device)
    processor = load_pretrained(processor_class.from_pretrained, params.model_id, what)
    model = load_pretrained(model_class.from_pretrained, params.model_id, what,
                            dtype=resolve_dtype(params.dtype, device)).to(device).eval()
    tokenizer = getattr(processor, "tokenizer", processor)
    tokenizer.padding_side = "left"  # batched generation continues every row from the right end
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(params.seed)
    return device, processor, tokenizer, model


def model_revision(model_id: str | Path, marker_file: str = "config.json") -> str:
    """What identifies a model's weights for fingerprints: the hub snapshot (commit hash) they load from.

    A hub cache snapshot folder is named by its commit; a hub id resolves to the snapshot holding
    ``marker_file`` in the local cache; a local folder (or an id not cached) is its absolute path or
    the id itself. Known without loading the model, so a step with nothing to recompute loads nothing.
    """
    name = str(model_id).strip()
    folder = Path(name).expanduser()
    if folder.parent.name == "snapshots":
        return folder.name
    if folder.is_dir():
        return str(folder.resolve())
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, marker_file)
        if isinstance(cached, str):
            return Path(cached).parent.name
    except Exception:  # noqa: BLE001 - no cache entry (or a malformed id) only means "revision unknown"
        pass
    return name


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or a RuntimeError saying so (other accelerators, older torch)."""
    import torch

    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower())


def run_in_batches(items: list, batch_size: int, run_batch: Callable[[list], list], what: str) -> tuple[list, int]:
    """``run_batch`` over ``items`` in batches; out of memory halves the failing batch and retries it.

    Returns the results (in the order of ``items``) and the batch size that fitted, so a caller that
    runs again (the inpainter, batch after batch) starts from there. A batch of one that still does
    not fit re-raises. This is the one place that batches and halves: every backend calls it.
    """
    import torch
    from dlcr_reid.progress import progress

    results: list = []
    start = 0
    with progress(total=len(items), desc=what, unit="item", disable=len(items) <= batch_size) as bar:
        while start < len(items):
            batch = items[start : start + batch_size]
            try:
                results.extend(run_batch(batch))
            except (torch.OutOfMemoryError, RuntimeError) as error:
                if not is_out_of_memory(error) or len(batch) == 1:
                    raise
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                # halve what failed (not the nominal size: the last batch may be shorter)
                batch_size = max(1, len(batch) // 2)
                log.warning("%s: out of memory at batch %d, retrying with batch %d", what, len(batch), batch_size)
                continue
            start += len(batch)
            bar.update(len(batch))
    return results, batch_size


def run_halving_on_oom(items: list, batch_size: int, run_batch: Callable[[list], list], what: str) -> list:
    """``run_in_batches`` when the caller does not keep the batch size: results only."""
    return run_in_batches(items, batch_size, run_batch, what)[0]
