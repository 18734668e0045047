"""The `discriminator` step: train the real-vs-generated latent classifier on a first-pass expansion.

Pairs are the generation manifest's ok rows: ``source_path`` (real, label 1) and ``path`` (its
generation, label 0), so the two classes are balanced and share pose and background. Latents are
encoded once with the pipeline's VAE; every batch draws fresh integer timesteps from
[0, num_train_timesteps) and fresh noise, and is noised with the pipeline's own schedule
(``latents.noise_schedule``). BCE, Adam. Held-out pairs are whole identities (or single source
images), chosen by a stable hash so a rerun holds out the same ones.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from dlcr_assets.discriminator.latents import encode_images, latent_masks, load_pipeline, noise_schedule
from dlcr_assets.discriminator.model import DiscriminatorConfig, LatentDiscriminator, save_discriminator
from dlcr_assets.errors import StepInputError
from dlcr_assets.generation.seeds import stable_int
from dlcr_assets.params.discriminator import DiscriminatorParams

log = logging.getLogger(__name__)


@dataclass
class DiscriminatorResult:
    path: Path
    history: list[dict] = field(default_factory=list)  # one row per epoch: loss, heldout_loss, heldout_accuracy
    heldout_accuracy: float = float("nan")
    train_pairs: int = 0
    heldout_pairs: int = 0
    run_id: str | None = None


def training_pairs(index: pd.DataFrame, manifest: pd.DataFrame, masks: pd.DataFrame | None,
                   holdout_by: str) -> pd.DataFrame:
    """One row per generated image: real path, generated path, mask path (or None), holdout group."""
    for name, table, columns in (("manifest", manifest, ("path", "source_path", "status")), ("index", index, ("path", "pid"))):
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise StepInputError(f"discriminator: the {name} table has no column(s) {missing}")
    ok = manifest[manifest["status"] == "ok"]
    if ok.empty:
        raise StepInputError("discriminator: the generation manifest has no ok rows; run `dlcr generated-images` first")
    pid_of = index.set_index("path")["pid"]
    unknown = sorted(set(ok["source_path"]) - set(pid_of.index))
    if unknown:
        raise StepInputError(f"discriminator: {len(unknown)} manifest source_path(s) are not in the index, e.g. {unknown[0]}")
    mask_of = masks.set_index("path")["mask_path"] if masks is not None else None
    if mask_of is not None and not ok["source_path"].isin(mask_of.index).all():
        missing = ok.loc[~ok["source_path"].isin(mask_of.index), "source_path"].iloc[0]
        raise StepInputError(f"discriminator: the masks table has no mask for {missing}; run `dlcr clothing-masks` first")
    group = ok["source_path"].map(pid_of).astype(str) if holdout_by == "identity" else ok["source_path"]
    return pd.DataFrame({"real": ok["source_path"].to_numpy(), "generated": ok["path"].to_numpy(),
                         "mask": ok["source_path"].map(mask_of).to_numpy() if mask_of is not None else None,
                         "group": group.to_numpy()})


def holdout_groups(groups, fraction: float, seed: int) -> set:
    """A stable ``fraction`` of the groups (at least one, never all)."""
    unique = sorted(set(groups), key=lambda g: stable_int("holdout", seed, g))
    if len(unique) < 2:
        raise StepInputError(f"discriminator: need at least 2 holdout groups, found {len(unique)}; "
                                   "use holdout_by: image or generate more images")
    count = min(len(unique) - 1, max(1, round(fraction * len(unique))))
    return set(unique[:count])


def _difference_mask(real: Image.Image, generated: Image.Image) -> Image.Image:
    # the engine keeps every pixel outside the clothes mask, so where they differ is the mask
    a, b = np.asarray(real.convert("RGB")), np.asarray(generated.convert("RGB").resize(real.size))
    return Image.fromarray(((a != b).any(axis=2) * 255).astype(np.uint8), mode="L")


def _load(pairs: pd.DataFrame, pipe, params: DiscriminatorParams, chunk: int = 64):
    """Latents (2N,4,h,w), latent masks (2N,1,h,w), labels (2N,): real first, then generated.

    Streams the images in chunks (only latents stay in memory) and encodes each real image once,
    however many generations it has."""
    h, w = params.height, params.width
    reals = list(dict.fromkeys(pairs["real"]))
    real_latents = torch.cat([encode_images(pipe, [Image.open(p).convert("RGB") for p in reals[i:i + chunk]], h, w).cpu()
                              for i in range(0, len(reals), chunk)])
    position = {path: n for n, path in enumerate(reals)}
    generated, masks = [], []
    for i in range(0, len(pairs), chunk):
        rows = pairs.iloc[i:i + chunk]
        images = [Image.open(p).convert("RGB") for p in rows["generated"]]
        if rows["mask"].notna().all():
            mask_images = [Image.open(p).convert("L") for p in rows["mask"]]
        else:
            mask_images = [_difference_mask(Image.open(r), g) for r, g in zip(rows["real"], images)]
        generated.append(encode_images(pipe, images, h, w).cpu())
        masks.append(latent_masks(pipe, mask_images, h, w).cpu())
    index = torch.tensor([position[p] for p in pairs["real"]])
    latents = torch.cat([real_latents[index], torch.cat(generated)])
    mask = torch.cat(masks).repeat(2, 1, 1, 1)
    labels = torch.cat([torch.ones(len(pairs)), torch.zeros(len(pairs))])
    return latents, mask, labels


def _noisy(schedule, latents, generator):
    t = torch.randint(0, schedule.config.num_train_timesteps, (latents.shape[0],), generator=generator)
    noise = torch.randn(latents.shape, generator=generator)
    return schedule.add_noise(latents.cpu(), noise, t), t


@torch.no_grad()
def _evaluate(model, schedule, latents, mask, labels, draws: int, seed: int, device: str) -> tuple[float, float]:
    generator = torch.Generator().manual_seed(seed)
    losses, hits, total = [], 0, 0
    model.eval()
    for _ in range(draws):
        x, t = _noisy(schedule, latents, generator)
        logits = model(x.to(device), t.to(device), mask.to(device) if model.config.use_mask else None)
        target = labels.to(device)
        losses.append(torch.nn.functional.binary_cross_entropy_with_logits(logits, target).item())
        hits += int(((logits > 0).float() == target).sum())
        total += len(target)
    model.train()
    return float(np.mean(losses)), hits / total


def train_discriminator(index: pd.DataFrame, manifest: pd.DataFrame, pipeline_id_or_path, params: DiscriminatorParams,
                        out_dir: Path, device: str = "cpu", masks: pd.DataFrame | None = None,
                        tracking=None, run_name: str = "discriminator") -> DiscriminatorResult:
    """Train on (real, generated) pairs and save the folder ``out_dir``; log curves to MLflow if ``tracking``.

    ``pipeline_id_or_path``: the inpainting pipeline that made ``manifest`` (hub id, folder or loaded
    pipeline). ``masks``: the masks table (path -> mask_path); without it the mask is where the
    generated image differs from its source. ``tracking``: TrackingParams, or None for no MLflow.
    """
    pairs = training_pairs(index, manifest, masks, params.holdout_by)
    held = holdout_groups(pairs["group"], params.holdout_fraction, params.seed)
    pipe = load_pipeline(pipeline_id_or_path, device)
    schedule = noise_schedule(pipe)
    is_held = pairs["group"].isin(held).to_numpy()
    train, test = (_load(pairs[~is_held], pipe, params), _load(pairs[is_held], pipe, params))
    source = pipeline_id_or_path if isinstance(pipeline_id_or_path, (str, Path)) else getattr(pipe, "name_or_path", "")
    config = DiscriminatorConfig(num_train_timesteps=schedule.config.num_train_timesteps, use_mask=params.use_mask,
                                 channels=list(params.channels), time_dim=params.time_dim,
                                 latent_channels=train[0].shape[1], pipeline=str(source or ""),
                                 width=params.width, height=params.height,
                                 scaling_factor=float(pipe.vae.config.scaling_factor))
    torch.manual_seed(params.seed)
    model = LatentDiscriminator(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
    generator = torch.Generator().manual_seed(params.seed)

    tracker = None
    result = DiscriminatorResult(path=Path(out_dir), train_pairs=int((~is_held).sum()), heldout_pairs=int(is_held.sum()))
    if tracking is not None:
        from dlcr_reid.training.tracking import RunTracker, flatten

        tracker = RunTracker(tracking)
        result.run_id = tracker.start(run_name, flatten({"discriminator": params.model_dump(), "pipeline": config.pipeline}),
                                      {"step": "discriminator"}, None)
    latents, mask, labels = train
    n = latents.shape[0]
    try:
        for epoch in range(params.epochs):
            order = torch.randperm(n, generator=generator)
            total = 0.0
            for start in range(0, n, params.batch_size):
                batch = order[start:start + params.batch_size]
                x, t = _noisy(schedule, latents[batch], generator)
                logits = model(x.to(device), t.to(device), mask[batch].to(device) if params.use_mask else None)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels[batch].to(device))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            heldout_loss, accuracy = _evaluate(model, schedule, *test, params.eval_draws, params.seed + 1, device)
            row = {"epoch": epoch, "loss": total / n, "heldout_loss": heldout_loss, "heldout_accuracy": accuracy}
            result.history.append(row)
            log.info("discriminator epoch %d: loss %.4f, held-out loss %.4f, accuracy %.3f", epoch, row["loss"],
                     heldout_loss, accuracy)
            if tracker is not None:
                tracker.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch)
        result.heldout_accuracy = result.history[-1]["heldout_accuracy"]
        config.metrics = {"heldout_accuracy": result.heldout_accuracy, "train_pairs": result.train_pairs,
                          "heldout_pairs": result.heldout_pairs, "final_loss": result.history[-1]["loss"]}
        save_discriminator(model, Path(out_dir))
        if tracker is not None:
            tracker.log_artifact(Path(out_dir) / "config.json", "discriminator")
            tracker.finish()
    except BaseException:
        if tracker is not None:
            tracker.finish("FAILED")
        raise
    return result
