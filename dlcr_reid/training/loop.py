"""The CAL / DLCR training loop: epochs, lr schedule, evaluation cadence, progressive stages, fit/resume.

The losses of one step live in ``step.py``; what a run records (checkpoint state, MLflow params
and tags, final artifacts) in ``record.py``; which checkpoint is reported in ``selection.py``.
"""
from __future__ import annotations

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

from dlcr_reid.datasets.table import TEST_SPLITS
from dlcr_reid.device import resolve_device
from dlcr_reid.errors import ReidInputError
from dlcr_reid.evaluation.evaluate import evaluate_model
from dlcr_reid.evaluation.protocols import dataset_format as resolve_format
from dlcr_reid.evaluation.protocols import validation_format
from dlcr_reid.models import build_clothes_classifier, build_model
from dlcr_reid.params.evaluation import EvaluationParams
from dlcr_reid.params.tracking import TrackingParams
from dlcr_reid.params.training import TrainingParams
from dlcr_reid.training import checkpoint as ckpt
from dlcr_reid.training import record
from dlcr_reid.training.data import ReidTrainingSet, collate_pairs
from dlcr_reid.training.distributed import init_distributed
from dlcr_reid.progress import progress
from dlcr_reid.training.progressive import variant_fraction
from dlcr_reid.training.record import RESUME_FREE_FIELDS
from dlcr_reid.training.schedule import stretched_schedule
from dlcr_reid.training.sampler import PKBatchSampler
from dlcr_reid.training.selection import Selection, hold_out, scalar_metrics, selection_score, validation_index
from dlcr_reid.training.step import LOSS_KEYS, TrainStep
from dlcr_reid.training.tracking import RunTracker

log = logging.getLogger(__name__)

Mode = Literal["baseline", "dlcr"]


@dataclass
class TrainResult:
    best_checkpoint: Path  # the selected checkpoint (training.selection), whatever the rule
    last_checkpoint: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    mlflow_run_id: str | None = None
    best_score: float | None = None  # the selected checkpoint's score on the TEST split (reported)
    selection: dict[str, Any] = field(default_factory=dict)  # rule, epoch, val_score


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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
        dataset_format: str | None = None,
        data_sources: dict[str, str] | None = None,
    ) -> None:
        if mode not in ("baseline", "dlcr"):
            raise ReidInputError(f"training mode must be 'baseline' or 'dlcr', got {mode!r}")
        if mode == "dlcr" and manifest is None:
            raise ReidInputError("mode 'dlcr' needs the generation manifest (data/generated_images/<name>.parquet)")
        self.index, self.manifest = index, manifest if mode == "dlcr" else None
        self.params, self.evaluation_params, self.tracking_params = params, evaluation, tracking
        self.out_dir, self.mode, self.run_tags = Path(out_dir), mode, dict(run_tags or {})
        # where the index and manifest were read from ({"index": path, "manifest": path}): the datasets' sources
        self.data_sources = {k: str(v) for k, v in (data_sources or {}).items()}
        self.dist = init_distributed(device)
        self.device = torch.device(resolve_device(device, self.dist.local_rank))
        self.on_cuda = self.device.type == "cuda"
        self.dataset_name = str(index["dataset"].iloc[0]) if "dataset" in index.columns and len(index) else "unknown"
        # protocols follow the dataset's format (given by the caller, else detected from the index), never its name
        self.dataset_format = resolve_format(index, dataset_format)
        # holdout: the held-out identities leave the training split before anything sees it
        train_index = hold_out(index, params) if params.selection == "holdout" else index
        self.val_index = validation_index(train_index, params, self.dataset_name)

        seed_everything(params.seed)
        if self.on_cuda:
            torch.backends.cudnn.benchmark = not params.deterministic
            torch.backends.cudnn.deterministic = params.deterministic

        self.train_set = ReidTrainingSet(train_index, self.manifest, params)
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
        # a floor in optimizer steps stretches the schedule (schedule.py); the data set reads the stretched one too
        params = self.params = self.train_set.params = stretched_schedule(params, len(self.sampler))
        if params.cal_start_epoch >= params.epochs:
            log.warning("training.cal_start_epoch=%d >= epochs=%d: the clothes classifier and CAL never run",
                        params.cal_start_epoch, params.epochs)
        self.has_test_splits = bool(index["split"].isin(TEST_SPLITS).any())
        if params.eval_every and not self.has_test_splits:
            log.warning("the index has no query/gallery rows: no test evaluation is reported")
        if params.eval_every and self.has_test_splits:  # before training: not after an epoch, before its checkpoint
            from dlcr_reid.evaluation.features import check_test_images
            check_test_images(index, max(4, params.num_workers))

        # same seed on every rank: identical initial weights before DDP even broadcasts them
        torch.manual_seed(params.seed)
        self.model = build_model(params, self.train_set.num_ids).to(self.device)
        self.clothes_classifier = build_clothes_classifier(self.model.feature_dim, self.train_set.num_clothes).to(self.device)
        channels_last = self.on_cuda and params.channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        train_model: torch.nn.Module = self.model
        train_clothes: torch.nn.Module = self.clothes_classifier
        if self.dist.enabled:
            device_ids = [self.device.index] if self.on_cuda else None
            train_model = DistributedDataParallel(self.model, device_ids=device_ids)
            train_clothes = DistributedDataParallel(self.clothes_classifier, device_ids=device_ids)
        self.train_model, self.train_clothes = train_model, train_clothes
        self.step = TrainStep(params, self.model, self.clothes_classifier, train_model, train_clothes,
                              self.train_set.positive_clothes_mask().to(self.device), self.device, self.dist,
                              channels_last)

        self.tracker = RunTracker(tracking, active=self.dist.is_main, out_dir=self.out_dir)
        self.history: list[dict[str, Any]] = []
        self.selection = Selection(params.selection)
        self.train_seconds = 0.0
        self.time_to_top1: dict[str, float] = {}
        self.start_epoch = 0

    def meta(self, epoch: int, evaluation: dict[str, Any] | None = None) -> dict[str, Any]:
        return record.meta(self, epoch, evaluation)

    # ---- one epoch ---------------------------------------------------------------------------
    def train_one_epoch(self, epoch: int) -> dict[str, Any]:
        params = self.params
        self.train_model.train()
        self.train_clothes.train()
        lr = self.step.set_lr(epoch)
        self.sampler.set_epoch(epoch)
        sums = dict.fromkeys(LOSS_KEYS, 0.0)
        images_seen, generated_seen, steps = 0, 0, 0
        started = time.perf_counter()
        bar = progress(self.loader, desc=f"epoch {epoch + 1}/{params.epochs}", leave=False, disable=not self.dist.is_main)
        for step, batch in enumerate(bar):
            losses, images, generated = self.step.step(batch, epoch, step)
            for key, value in losses.items():
                sums[key] += float(value)
            steps += 1
            images_seen += images
            generated_seen += generated
            if self.dist.is_main:
                # refresh=False: the bar redraws at its own interval (a log gets a line every 30 s, not every step)
                bar.set_postfix(loss=f"{float(losses['loss_total']):.3f}", refresh=False)
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
        has_rows = self.has_test_splits or self.val_index is not None
        return has_rows and every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == self.params.epochs)

    def evaluate(self, index: pd.DataFrame | None = None, dataset_format: str | None = None) -> dict[str, Any]:
        """The model on ``index`` (default: the test split) under the format's protocols."""
        self.model.eval()
        with torch.no_grad():
            result = evaluate_model(self.model, self.index if index is None else index, self.evaluation_params,
                                    str(self.device), input_size=(self.params.height, self.params.width),
                                    dataset_format_name=dataset_format or self.dataset_format)
        self.model.train()
        return result

    def _evaluate_epoch(self, row: dict[str, Any]) -> tuple[dict[str, Any] | None, float | None]:
        """Rank 0: the test evaluation (reported, curves) and the validation score (selection)."""
        evaluation = val_score = None
        if self.has_test_splits:
            evaluation = self.evaluate()
            row.update(scalar_metrics(evaluation))
            record.record_time_to_top1(self, selection_score(evaluation), row)
        if self.val_index is not None:
            val = self.evaluate(self.val_index, validation_format(self.dataset_format))
            row.update(scalar_metrics(val, "val_"))
            val_score = selection_score(val)
        return evaluation, val_score

    # ---- the run -----------------------------------------------------------------------------
    def fit(self, resume: bool = False, until_epoch: int | None = None) -> TrainResult:
        """Train to ``params.epochs`` (or stop after ``until_epoch`` epochs, as a killed run would)."""
        params = self.params
        resume_run_id = None
        existing = ckpt.epoch_checkpoints(self.out_dir)
        if resume and existing:
            resume_run_id = record.restore(self, existing[-1][1])
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
        run_id = self.tracker.start(f"{self.dataset_name}-{self.mode}", record.mlflow_params(self),
                                    record.run_tags(self), resume_run_id, resume=resume, history=self.history,
                                    inputs=record.run_inputs(self))
        last_epoch = params.epochs if until_epoch is None else min(until_epoch, params.epochs)
        status = "FAILED"
        try:
            for epoch in range(self.start_epoch, last_epoch):
                row = self.train_one_epoch(epoch)
                evaluation = val_score = None
                if self.should_evaluate(epoch):
                    if self.dist.is_main:
                        evaluation, val_score = self._evaluate_epoch(row)
                    self.dist.barrier()
                self.history.append(row)
                self._end_epoch(epoch, row, evaluation, val_score)
                self.dist.barrier()
            status = "FINISHED" if last_epoch == params.epochs else "KILLED"
            if self.dist.is_main and last_epoch == params.epochs:
                record.write_final_artifacts(self)
            self.dist.barrier()
        finally:
            self.tracker.finish(status)
            self.dist.close()
        final = ckpt.epoch_stem(self.out_dir, last_epoch)
        best = self.out_dir / "best.safetensors"
        return TrainResult(best if best.is_file() else final.with_suffix(".safetensors"),
                           final.with_suffix(".safetensors"), self.history, run_id, self.selection.test_score,
                           self.selection.record())

    def _end_epoch(self, epoch: int, row: dict[str, Any], evaluation: dict[str, Any] | None,
                   val_score: float | None) -> None:
        """Rank 0: epoch checkpoint, the selected checkpoint (``best``), metrics."""
        if not self.dist.is_main:
            return
        selected = self.selection.offer(epoch + 1, evaluation, val_score)  # never reads the test evaluation
        stem = ckpt.epoch_stem(self.out_dir, epoch + 1)
        ckpt.save_checkpoint(stem, self.model, self.clothes_classifier, self.meta(epoch + 1, evaluation),
                             record.train_state(self))
        if selected:
            ckpt.copy_checkpoint(stem, self.out_dir / "best")
        ckpt.prune_epoch_checkpoints(self.out_dir, self.params.keep_checkpoints)
        self.tracker.log_metrics({k: v for k, v in row.items() if isinstance(v, (int, float)) and k != "epoch"}, epoch + 1)
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float)))


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
    dataset_format: str | None = None,
    data_sources: dict[str, str] | None = None,
) -> TrainResult:
    """Train the CAL model (baseline: real images; dlcr: real + paired generated variants).

    Writes ``epoch-XXX`` checkpoints and ``best`` (the checkpoint ``training.selection`` chose: the
    last epoch, or the best on a validation split; never chosen on test) into ``out_dir``; the
    protocols follow ``dataset_format`` (detected from the index when None). Logs an MLflow run
    (child of the caller's active run, if any, with ``run_tags`` added). ``resume`` continues from
    the newest epoch checkpoint with the same results as an uninterrupted run. Under torchrun
    (WORLD_SIZE > 1) it trains with DistributedDataParallel; rank 0 alone writes files and MLflow.
    ``data_sources`` ({"index": path, "manifest": path}) are the tables' files, logged as the sources
    of the run's MLflow dataset inputs.
    """
    trainer = ReidTrainer(index, manifest, params, evaluation, tracking, out_dir, mode, device, run_tags,
                          dataset_format, data_sources)
    return trainer.fit(resume=resume)


__all__ = ["RESUME_FREE_FIELDS", "ReidTrainer", "TrainResult", "scalar_metrics", "selection_score", "train_reid"]
