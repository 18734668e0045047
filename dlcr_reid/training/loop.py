"""The CAL / DLCR training loop: epochs, losses, evaluation, checkpoints, resume, DDP, MLflow.

One step (SPEC §1.6): forward the real half (and in DLCR mode its generated partners) through
the model; identity CE (+ optional triplet) on both halves; from ``cal_start_epoch`` the cosine
clothes classifier is first updated on the detached real features with its own Adam, then the CAL
loss on the live real features (classifier weights held fixed) joins the backbone's loss.
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from dlcr_reid.errors import ReidInputError
from dlcr_reid.losses import (
    BatchHardTripletLoss,
    ClothesAdversarialLoss,
    ClothesClassificationLoss,
    CrossEntropyLabelSmoothing,
)
from dlcr_reid.models import build_clothes_classifier, build_model
from dlcr_reid.params.evaluation import EvaluationParams
from dlcr_reid.params.tracking import TrackingParams
from dlcr_reid.params.training import TrainingParams
from dlcr_reid.training import checkpoint as ckpt
from dlcr_reid.training.data import ReidTrainingSet, collate_pairs
from dlcr_reid.datasets.table import TEST_SPLITS
from dlcr_reid.device import resolve_device
from dlcr_reid.training.distributed import init_distributed
from dlcr_reid.training.progressive import stage_starts, variant_fraction
from dlcr_reid.training.sampler import PKBatchSampler
from dlcr_reid.training.tracking import RunTracker, flatten, git_commit, plot_training_curves, table_sha256

log = logging.getLogger(__name__)

Mode = Literal["baseline", "dlcr"]
# fields that may change between a run and its resume without changing its results
RESUME_FREE_FIELDS = {"num_workers", "keep_checkpoints", "eval_every", "time_to_top1"}


@dataclass
class TrainResult:
    best_checkpoint: Path
    last_checkpoint: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    mlflow_run_id: str | None = None
    best_score: float | None = None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def scalar_metrics(evaluation: dict[str, Any]) -> dict[str, float]:
    """{"cc": {"top1": 40.1}} -> {"eval_cc_top1": 40.1} for every numeric leaf."""
    metrics = {}
    for key, value in flatten(evaluation).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            metrics["eval_" + key.replace(".", "_")] = float(value)
    return metrics


def selection_score(evaluation: dict[str, Any]) -> float | None:
    """CC top-1 picks the best checkpoint; datasets without a CC protocol fall back to general."""
    for protocol in ("cc", "general"):
        block = evaluation.get(protocol)
        if isinstance(block, dict) and isinstance(block.get("top1"), (int, float)):
            return float(block["top1"])
    return None


class ReidTrainer:
    """Everything one training run holds; ``fit`` runs (or resumes) it."""

    def __init__(
        self,
        index: pd.DataFrame,
        manifest: pd.DataFrame | None,
        params: TrainingParams,
        evaluation: EvaluationParams,
        tracking: TrackingParams,
        out_dir: Path,
        mode: Mode,
        device: str = "auto",
        run_tags: dict[str, str] | None = None,
    ) -> None:
        if mode not in ("baseline", "dlcr"):
            raise ReidInputError(f"training mode must be 'baseline' or 'dlcr', got {mode!r}")
        if mode == "dlcr" and manifest is None:
            raise ReidInputError("mode 'dlcr' needs the generation manifest (data/generated/<name>.parquet)")
        self.index, self.manifest = index, manifest if mode == "dlcr" else None
        self.params, self.evaluation_params, self.tracking_params = params, evaluation, tracking
        self.out_dir, self.mode, self.run_tags = Path(out_dir), mode, dict(run_tags or {})
        self.dist = init_distributed(device)
        self.device = torch.device(resolve_device(device, self.dist.local_rank))
        self.on_cuda = self.device.type == "cuda"
        self.dataset_name = str(index["dataset"].iloc[0]) if "dataset" in index.columns and len(index) else "unknown"

        seed_everything(params.seed)
        if self.on_cuda:
            torch.backends.cudnn.benchmark = not params.deterministic
            torch.backends.cudnn.deterministic = params.deterministic

        self.train_set = ReidTrainingSet(index, self.manifest, params)
        self.sampler = PKBatchSampler(
            self.train_set.pids, params.ids_per_batch, params.images_per_id, seed=params.seed,
            rank=self.dist.rank, world_size=self.dist.world_size, max_batches=params.max_steps_per_epoch,
        )
        if len(self.sampler) == 0:
            raise ReidInputError(
                f"no full P x K batch for {self.dist.world_size} rank(s): {self.train_set.num_ids} identities, "
                f"P={params.ids_per_batch}, K={params.images_per_id}"
            )
        self.loader = DataLoader(
            self.train_set, batch_sampler=self.sampler, collate_fn=collate_pairs,
            num_workers=params.num_workers, persistent_workers=params.num_workers > 0,
            pin_memory=self.on_cuda,
        )
        self.positive_mask = self.train_set.positive_clothes_mask().to(self.device)
        if params.cal_start_epoch >= params.epochs:
            log.warning("training.cal_start_epoch=%d >= epochs=%d: the clothes classifier and CAL never run",
                        params.cal_start_epoch, params.epochs)
        self.has_test_splits = bool(index["split"].isin(TEST_SPLITS).any())
        if params.eval_every and not self.has_test_splits:
            log.warning("the index has no query/gallery rows: no evaluation; the last epoch is the best checkpoint")
        if params.eval_every and self.has_test_splits:  # before training: not after an epoch, before its checkpoint
            from dlcr_reid.evaluation.features import check_test_images
            check_test_images(index, max(4, params.num_workers))

        # same seed on every rank: identical initial weights before DDP even broadcasts them
        torch.manual_seed(params.seed)
        self.model = build_model(params, self.train_set.num_ids).to(self.device)
        self.clothes_classifier = build_clothes_classifier(self.model.feature_dim, self.train_set.num_clothes).to(self.device)
        self.channels_last = self.on_cuda and params.channels_last
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
        self.clothes_optimizer = torch.optim.Adam(
            self.clothes_classifier.parameters(), lr=params.resolved()["clothes_lr"], weight_decay=params.weight_decay
        )
        self.train_model: torch.nn.Module = self.model
        self.train_clothes: torch.nn.Module = self.clothes_classifier
        if self.dist.enabled:
            device_ids = [self.device.index] if self.on_cuda else None
            self.train_model = DistributedDataParallel(self.model, device_ids=device_ids)
            self.train_clothes = DistributedDataParallel(self.clothes_classifier, device_ids=device_ids)

        use_amp = self.on_cuda and params.amp
        self.amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
        self.use_amp = use_amp
        # bf16 needs no loss scaling; fp16 does
        self.scaler = torch.amp.GradScaler("cuda", enabled=use_amp and self.amp_dtype == torch.float16)

        self.id_loss = CrossEntropyLabelSmoothing(params.label_smoothing)
        self.triplet_loss = BatchHardTripletLoss(params.triplet_margin)
        self.clothes_loss = ClothesClassificationLoss(params.cal_scale)
        self.cal_loss = ClothesAdversarialLoss(params.cal_scale, params.cal_epsilon)

        self.tracker = RunTracker(tracking, active=self.dist.is_main, out_dir=self.out_dir)
        self.history: list[dict[str, Any]] = []
        self.best_score: float | None = None
        self.best_evaluation: dict[str, Any] | None = None
        self.train_seconds = 0.0
        self.time_to_top1: dict[str, float] = {}
        self.start_epoch = 0

    # ---- bookkeeping -------------------------------------------------------------------------
    def meta(self, epoch: int, evaluation: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "dataset": self.dataset_name,
            "mode": self.mode,
            "epoch": epoch,
            "backbone": self.params.backbone,
            "feature_dim": self.model.feature_dim,
            "height": self.params.height,
            "width": self.params.width,
            "input_size": [self.params.height, self.params.width],
            "num_ids": self.train_set.num_ids,
            "num_clothes": self.train_set.num_clothes,
            "label_maps": self.train_set.label_maps(),
            "config": self.params.resolved(),
            "evaluation": evaluation,
        }

    def train_state(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "clothes_optimizer": self.clothes_optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": ckpt.capture_rng_state(),
            "history_json": json.dumps(self.history),
            "best_score": self.best_score,
            "best_evaluation_json": json.dumps(self.best_evaluation),
            "train_seconds": self.train_seconds,
            "time_to_top1_json": json.dumps(self.time_to_top1),
            "mlflow_run_id": self.tracker.run_id,
        }

    def _restore(self, stem: Path) -> str | None:
        meta = json.loads(stem.with_suffix(".json").read_text())
        saved, current = meta["config"], self.params.resolved()
        changed = sorted(k for k in current if k not in RESUME_FREE_FIELDS and saved.get(k) != current[k])
        if changed:
            raise ReidInputError(
                f"cannot resume from {stem}: training params changed since it was written ({', '.join(changed)}); "
                "restore them or train without --resume"
            )
        model_state, clothes_state = ckpt.load_weights(stem)
        self.model.load_state_dict(model_state)
        self.clothes_classifier.load_state_dict(clothes_state)
        state = ckpt.load_train_state(stem)
        self.optimizer.load_state_dict(state["optimizer"])
        self.clothes_optimizer.load_state_dict(state["clothes_optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        ckpt.restore_rng_state(state["rng"])
        self.history = json.loads(state["history_json"])
        self.best_score = state["best_score"]
        self.best_evaluation = json.loads(state["best_evaluation_json"])
        self.train_seconds = float(state["train_seconds"])
        self.time_to_top1 = json.loads(state["time_to_top1_json"])
        self.start_epoch = int(meta["epoch"])
        return state["mlflow_run_id"]

    def _mlflow_params(self) -> dict[str, Any]:
        values = {f"training.{k}": v for k, v in self.params.resolved().items()}
        values.update(flatten({"evaluation": self.evaluation_params.model_dump(mode="json")}))
        values.update({
            "dataset": self.dataset_name,
            "mode": self.mode,
            "progressive": self.mode == "dlcr" and self.params.progressive,
            "progressive_stages": stage_starts(self.params),
            "git_commit": git_commit(),
            "index_sha256": table_sha256(self.index),
            "manifest_sha256": table_sha256(self.manifest),
            "world_size": self.dist.world_size,
            "device": str(self.device),
            "train_images": len(self.train_set),
            "train_ids": self.train_set.num_ids,
            "train_clothes": self.train_set.num_clothes,
            "images_without_variants": self.train_set.images_without_variants,
            "unreadable_images": len(self.train_set.unreadable),
        })
        return values

    def _tags(self) -> dict[str, str]:
        tags = {
            "dataset": self.dataset_name,
            "mode": self.mode,
            "progressive": str(self.mode == "dlcr" and self.params.progressive).lower(),
            "backbone": self.params.backbone,
            "profile": self.params.profile,
        }
        tags.update({str(k): str(v) for k, v in self.run_tags.items()})
        return tags

    # ---- one epoch ---------------------------------------------------------------------------
    def _set_lr(self, epoch: int) -> float:
        decays = sum(1 for milestone in self.params.milestones if epoch >= milestone)
        lr = self.params.lr * self.params.gamma**decays
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _check_finite(self, losses: dict[str, torch.Tensor], epoch: int, step: int) -> None:
        total = torch.stack([v.detach().float() for v in losses.values()]).sum()
        if not self.dist.all_finite(total):
            values = ", ".join(f"{k}={v.item():.4g}" for k, v in losses.items())
            raise ReidInputError(
                f"non-finite training loss at epoch {epoch + 1} step {step + 1} ({values}); check the input images, "
                "training.weights and the learning rate"
            )

    def train_one_epoch(self, epoch: int) -> dict[str, Any]:
        params = self.params
        self.train_model.train()
        self.train_clothes.train()
        lr = self._set_lr(epoch)
        self.sampler.set_epoch(epoch)
        use_cal = epoch >= params.cal_start_epoch
        sums = {"loss_total": 0.0, "loss_id": 0.0, "loss_triplet": 0.0, "loss_cal": 0.0, "loss_clothes": 0.0}
        images_seen, generated_seen, steps = 0, 0, 0
        started = time.perf_counter()
        bar = tqdm(self.loader, desc=f"epoch {epoch + 1}/{params.epochs}", leave=False, disable=not self.dist.is_main)
        for step, batch in enumerate(bar):
            real = batch["real"].to(self.device, non_blocking=True)
            pids = batch["pids"].to(self.device, non_blocking=True)
            clothes = batch["clothes"].to(self.device, non_blocking=True)
            generated = batch["generated"].to(self.device, non_blocking=True)
            num_real = real.shape[0]
            images = torch.cat([real, generated]) if generated.shape[0] else real
            all_pids = torch.cat([pids, batch["generated_pids"].to(self.device)]) if generated.shape[0] else pids
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
                outputs = self.train_model(images)
            features = outputs["features"].float()
            losses = {"loss_id": self.id_loss(outputs["id_logits"].float(), all_pids)}
            if params.triplet_loss_weight > 0:
                losses["loss_triplet"] = self.triplet_loss(features, all_pids)
            real_features = features[:num_real]  # the clothes classifier and CAL see real images only
            if use_cal:
                cosine = self.train_clothes(real_features.detach())
                clothes_loss = params.clothes_loss_weight * self.clothes_loss(cosine, clothes)
                self._check_finite({"loss_clothes": clothes_loss}, epoch, step)
                self.clothes_optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(clothes_loss).backward()
                self.scaler.step(self.clothes_optimizer)
                losses["loss_clothes"] = clothes_loss.detach()
                # CAL moves the backbone only: the classifier's weights are held fixed here
                live_cosine = self.clothes_classifier(real_features, detach_weight=True)
                losses["loss_cal"] = self.cal_loss(live_cosine, clothes, self.positive_mask[pids])
            total = params.id_loss_weight * losses["loss_id"]
            if "loss_triplet" in losses:
                total = total + params.triplet_loss_weight * losses["loss_triplet"]
            if "loss_cal" in losses:
                total = total + params.cal_loss_weight * losses["loss_cal"]
            losses["loss_total"] = total
            self._check_finite(losses, epoch, step)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(total).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            for key, value in losses.items():
                sums[key] += float(value.detach())
            steps += 1
            images_seen += images.shape[0]
            generated_seen += images.shape[0] - num_real
            if self.dist.is_main:
                bar.set_postfix(loss=f"{float(total.detach()):.3f}")
        self.dist.average_buffers(self.model)
        if self.on_cuda:
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - started
        self.train_seconds += seconds
        row = {k: v / max(steps, 1) for k, v in sums.items()}
        row.update({
            "epoch": epoch + 1,
            "lr": lr,
            "steps": steps,
            "images": images_seen,
            "generated_images": generated_seen,
            "seconds": seconds,
            "images_per_s": images_seen / seconds if seconds > 0 else 0.0,
            "s_per_step": seconds / max(steps, 1),
            "variant_fraction": variant_fraction(params, epoch) if self.mode == "dlcr" else 0.0,
            "train_seconds_total": self.train_seconds,
        })
        return row

    # ---- evaluation --------------------------------------------------------------------------
    def should_evaluate(self, epoch: int) -> bool:
        every = self.params.eval_every
        return self.has_test_splits and every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == self.params.epochs)

    def evaluate(self) -> dict[str, Any]:
        from dlcr_reid.evaluation import evaluate_model  # late: the evaluation package is optional here

        self.model.eval()
        with torch.no_grad():
            result = evaluate_model(self.model, self.index, self.evaluation_params, str(self.device),
                                    input_size=(self.params.height, self.params.width))
        self.model.train()
        return result

    def _record_time_to_top1(self, score: float | None, row: dict[str, Any]) -> None:
        if score is None:
            return
        for level in self.params.time_to_top1:
            key = f"time_to_cc_top1_{level:g}"
            if score >= level and key not in self.time_to_top1:
                self.time_to_top1[key] = self.train_seconds
                log.info("CC top-1 %.2f reached %g after %.1f s of training", score, level, self.train_seconds)
        row.update(self.time_to_top1)

    # ---- the run -----------------------------------------------------------------------------
    def fit(self, resume: bool = False, until_epoch: int | None = None) -> TrainResult:
        """Train to ``params.epochs`` (or stop after ``until_epoch`` epochs, as a killed run would)."""
        params = self.params
        resume_run_id = None
        existing = ckpt.epoch_checkpoints(self.out_dir)
        if resume and existing:
            resume_run_id = self._restore(existing[-1][1])
            log.info("resuming from %s (epoch %d)", existing[-1][1], self.start_epoch)
        elif resume:
            log.info("--resume: no checkpoint in %s, starting from scratch", self.out_dir)
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            ckpt.remove_partial_writes(self.out_dir)  # temp files of a write a killed attempt left
            if not resume:
                for _, stem in existing:  # a fresh run must not mix with an old run's epochs
                    ckpt.remove_checkpoint(stem)
                ckpt.remove_checkpoint(self.out_dir / "best")
        self.dist.barrier()
        if self.train_set.use_generated:
            log.info("%d of %d training images have no generated variant and train on the real half only",
                     self.train_set.images_without_variants, len(self.train_set))
        run_id = self.tracker.start(f"{self.dataset_name}-{self.mode}", self._mlflow_params(), self._tags(),
                                    resume_run_id, resume=resume, history=self.history)
        last_epoch = params.epochs if until_epoch is None else min(until_epoch, params.epochs)
        status = "FAILED"
        try:
            for epoch in range(self.start_epoch, last_epoch):
                row = self.train_one_epoch(epoch)
                evaluation = None
                if self.should_evaluate(epoch):
                    if self.dist.is_main:
                        evaluation = self.evaluate()
                        row.update(scalar_metrics(evaluation))
                        self._record_time_to_top1(selection_score(evaluation), row)
                    self.dist.barrier()
                self.history.append(row)
                self._end_epoch(epoch, row, evaluation)
                self.dist.barrier()
            status = "FINISHED" if last_epoch == params.epochs else "KILLED"
            if self.dist.is_main and last_epoch == params.epochs:
                self._log_final_artifacts()
            self.dist.barrier()
        finally:
            self.tracker.finish(status)
            self.dist.close()
        final = ckpt.epoch_stem(self.out_dir, last_epoch)
        best = self.out_dir / "best.safetensors"
        return TrainResult(best if best.is_file() else final.with_suffix(".safetensors"),
                           final.with_suffix(".safetensors"), self.history, run_id, self.best_score)

    def _end_epoch(self, epoch: int, row: dict[str, Any], evaluation: dict[str, Any] | None) -> None:
        """Rank 0: epoch checkpoint, best checkpoint, metrics."""
        if not self.dist.is_main:
            return
        score = selection_score(evaluation) if evaluation else None
        improved = score is not None and (self.best_score is None or score > self.best_score)
        if improved:
            self.best_score, self.best_evaluation = score, evaluation
        stem = ckpt.epoch_stem(self.out_dir, epoch + 1)
        ckpt.save_checkpoint(stem, self.model, self.clothes_classifier, self.meta(epoch + 1, evaluation), self.train_state())
        # best = best CC top-1; without any evaluation the latest epoch stands in
        if improved or (self.best_score is None and not (self.params.eval_every and self.has_test_splits)):
            ckpt.copy_checkpoint(stem, self.out_dir / "best")
        ckpt.prune_epoch_checkpoints(self.out_dir, self.params.keep_checkpoints)
        self.tracker.log_metrics({k: v for k, v in row.items() if isinstance(v, (int, float)) and k != "epoch"}, epoch + 1)
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float)))

    def _log_final_artifacts(self) -> None:
        if not (self.out_dir / "best.json").is_file():
            ckpt.copy_checkpoint(ckpt.epoch_checkpoints(self.out_dir)[-1][1], self.out_dir / "best")
        config_path = self.out_dir / "config.json"
        config_path.write_text(json.dumps({"mode": self.mode, "dataset": self.dataset_name,
                                           "training": self.params.resolved(),
                                           "evaluation": self.evaluation_params.model_dump(mode="json")}, indent=2))
        curve_path = plot_training_curves(self.history, self.out_dir / "training_curves.png")
        history_path = self.out_dir / "history.json"
        history_path.write_text(json.dumps(self.history, indent=2))
        for path in (config_path, curve_path, history_path, self.out_dir / "best.json"):
            self.tracker.log_artifact(path)
        if self.best_evaluation is not None:
            report_path = self.out_dir / "best_evaluation.json"
            report_path.write_text(json.dumps(self.best_evaluation, indent=2, default=str))
            self.tracker.log_artifact(report_path)
        if self.tracking_params.log_checkpoint:
            self.tracker.log_artifact(self.out_dir / "best.safetensors", "checkpoint")
        if self.time_to_top1:
            self.tracker.log_metrics(self.time_to_top1, len(self.history))


def train_reid(
    index: pd.DataFrame,
    manifest: pd.DataFrame | None,
    params: TrainingParams,
    evaluation: EvaluationParams,
    tracking: TrackingParams,
    out_dir: Path,
    mode: Mode,
    resume: bool = False,
    device: str = "auto",
    run_tags: dict[str, str] | None = None,
) -> TrainResult:
    """Train the CAL model (baseline: real images; dlcr: real + paired generated variants).

    Writes ``epoch-XXX`` checkpoints and ``best`` (by CC top-1) into ``out_dir``; logs an MLflow run
    (child of the caller's active run, if any, with ``run_tags`` added). ``resume`` continues from
    the newest epoch checkpoint with the same results as an uninterrupted run. Under torchrun
    (WORLD_SIZE > 1) it trains with DistributedDataParallel; rank 0 alone writes files and MLflow.
    """
    trainer = ReidTrainer(index, manifest, params, evaluation, tracking, out_dir, mode, device, run_tags)
    return trainer.fit(resume=resume)
