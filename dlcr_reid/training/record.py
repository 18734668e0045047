"""The record of a training run: checkpoint meta and state (saved, restored), MLflow params and tags,
the final artifacts. What a run writes down lives here; how it trains lives in loop.py / step.py.
"""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from dlcr_reid.errors import ReidInputError
from dlcr_reid.training import checkpoint as ckpt
from dlcr_reid.training.progressive import stage_starts
from dlcr_reid.training.tracking import flatten, git_commit, plot_training_curves, table_sha256

if TYPE_CHECKING:
    from pathlib import Path

    from dlcr_reid.training.loop import ReidTrainer

log = logging.getLogger(__name__)

# fields that may change between a run and its resume without changing its results
RESUME_FREE_FIELDS = {"num_workers", "keep_checkpoints", "eval_every", "time_to_top1"}


def run_config(trainer: ReidTrainer) -> dict[str, Any]:
    """What determines a run's results besides the data: compared key by key on resume."""
    return {**trainer.params.resolved(), "mode": trainer.mode, "dataset_format": trainer.dataset_format}


def meta(trainer: ReidTrainer, epoch: int, evaluation: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checkpoint's JSON sidecar: enough to rebuild and evaluate the model."""
    params = trainer.params
    return {
        "dataset": trainer.dataset_name,
        "format": trainer.dataset_format,
        "mode": trainer.mode,
        "epoch": epoch,
        "backbone": params.backbone,
        "feature_dim": trainer.model.feature_dim,
        "height": params.height,
        "width": params.width,
        "input_size": [params.height, params.width],
        "num_ids": trainer.train_set.num_ids,
        "num_clothes": trainer.train_set.num_clothes,
        "label_maps": trainer.train_set.label_maps(),
        "config": params.resolved(),
        "run_config": run_config(trainer),
        "evaluation": evaluation,
        # the run's choice so far; in best.json (a copy of the chosen epoch) it names that epoch
        "selection": trainer.selection.record(),
    }


def train_state(trainer: ReidTrainer) -> dict[str, Any]:
    """Everything besides the weights that an exact resume needs."""
    step = trainer.step
    return {
        "optimizer": step.optimizer.state_dict(),
        "clothes_optimizer": step.clothes_optimizer.state_dict(),
        "scaler": step.scaler.state_dict(),
        "rng": ckpt.capture_rng_state(),
        "history_json": json.dumps(trainer.history),
        "best_evaluation_json": json.dumps(trainer.selection.evaluation),
        "selection_json": json.dumps(trainer.selection.record()),
        "train_seconds": trainer.train_seconds,
        "time_to_top1_json": json.dumps(trainer.time_to_top1),
        "mlflow_run_id": trainer.tracker.run_id,
    }


def changed_keys(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Keys whose value differs (missing on either side counts), RESUME_FREE_FIELDS aside."""
    return sorted(k for k in set(saved) | set(current) if k not in RESUME_FREE_FIELDS and saved.get(k) != current.get(k))


def restore(trainer: ReidTrainer, stem: Path) -> str | None:
    """Load ``stem`` into the trainer (refusing a different configuration); return its MLflow run id."""
    meta_path = stem.with_suffix(".json")
    try:
        saved_meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as error:
        raise ReidInputError(f"cannot resume from {meta_path}: unreadable checkpoint meta ({error})") from None
    # checkpoints written before run_config existed carry the training params alone
    saved = saved_meta.get("run_config") or saved_meta["config"]
    current = run_config(trainer) if "run_config" in saved_meta else trainer.params.resolved()
    changed = changed_keys(saved, current)
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed)
        raise ReidInputError(
            f"cannot resume from {stem}: the configuration differs from the checkpoint's ({details}); "
            "restore them or train without --resume"
        )
    model_state, clothes_state = ckpt.load_weights(stem)
    trainer.model.load_state_dict(model_state)
    trainer.clothes_classifier.load_state_dict(clothes_state)
    state = ckpt.load_train_state(stem)
    trainer.step.optimizer.load_state_dict(state["optimizer"])
    trainer.step.clothes_optimizer.load_state_dict(state["clothes_optimizer"])
    trainer.step.scaler.load_state_dict(state["scaler"])
    ckpt.restore_rng_state(state["rng"])
    trainer.history = json.loads(state["history_json"])
    trainer.selection.load(json.loads(state.get("selection_json", "{}")), json.loads(state["best_evaluation_json"]))
    trainer.train_seconds = float(state["train_seconds"])
    trainer.time_to_top1 = json.loads(state["time_to_top1_json"])
    trainer.start_epoch = int(saved_meta["epoch"])
    return state["mlflow_run_id"]


def record_time_to_top1(trainer: ReidTrainer, score: float | None, row: dict[str, Any]) -> None:
    """The training seconds at which the test CC top-1 first reached each ``time_to_top1`` level."""
    if score is None:
        return
    for level in trainer.params.time_to_top1:
        key = f"time_to_cc_top1_{level:g}"
        if score >= level and key not in trainer.time_to_top1:
            trainer.time_to_top1[key] = trainer.train_seconds
            log.info("CC top-1 %.2f reached %g after %.1f s of training", score, level, trainer.train_seconds)
    row.update(trainer.time_to_top1)


def mlflow_params(trainer: ReidTrainer) -> dict[str, Any]:
    values = {f"training.{k}": v for k, v in trainer.params.resolved().items()}
    values.update(flatten({"evaluation": trainer.evaluation_params.model_dump(mode="json")}))
    values.update({
        "dataset": trainer.dataset_name,
        "dataset_format": trainer.dataset_format,
        "mode": trainer.mode,
        "progressive": trainer.mode == "dlcr" and trainer.params.progressive,
        "progressive_stages": stage_starts(trainer.params),
        "git_commit": git_commit(),
        "index_sha256": table_sha256(trainer.index),
        "manifest_sha256": table_sha256(trainer.manifest),
        "world_size": trainer.dist.world_size,
        "device": str(trainer.device),
        "train_images": len(trainer.train_set),
        "train_ids": trainer.train_set.num_ids,
        "train_clothes": trainer.train_set.num_clothes,
        "images_without_variants": trainer.train_set.images_without_variants,
        "unreadable_images": len(trainer.train_set.unreadable),
    })
    return values


def run_inputs(trainer: ReidTrainer) -> list[tuple[Any, str, str | None]]:
    """The tables the run read, as MLflow datasets: the index, and in dlcr mode the generation manifest."""
    sources = trainer.data_sources
    inputs = [(trainer.index, f"{trainer.dataset_name}-index", sources.get("index"))]
    if trainer.manifest is not None:
        inputs.append((trainer.manifest, f"{trainer.dataset_name}-manifest", sources.get("manifest")))
    return inputs


def run_tags(trainer: ReidTrainer) -> dict[str, str]:
    tags = {
        "dataset": trainer.dataset_name,
        "mode": trainer.mode,
        "progressive": str(trainer.mode == "dlcr" and trainer.params.progressive).lower(),
        "backbone": trainer.params.backbone,
        "profile": trainer.params.profile,
        "selection": trainer.params.selection,
    }
    tags.update({str(k): str(v) for k, v in trainer.run_tags.items()})
    return tags


def write_final_artifacts(trainer: ReidTrainer) -> None:
    """Rank 0 after the last epoch: config, curves, history, the selected checkpoint and its report."""
    out_dir, tracker = trainer.out_dir, trainer.tracker
    if not (out_dir / "best.json").is_file():
        ckpt.copy_checkpoint(ckpt.epoch_checkpoints(out_dir)[-1][1], out_dir / "best")
    config_path = out_dir / "config.json"
    config_path.write_text(json.dumps({"mode": trainer.mode, "dataset": trainer.dataset_name,
                                       "format": trainer.dataset_format, "training": trainer.params.resolved(),
                                       "evaluation": trainer.evaluation_params.model_dump(mode="json")}, indent=2))
    curve_path = plot_training_curves(trainer.history, out_dir / "training_curves.png")
    history_path = out_dir / "history.json"
    history_path.write_text(json.dumps(trainer.history, indent=2))
    for path in (config_path, curve_path, history_path, out_dir / "best.json"):
        tracker.log_artifact(path)
    selection = trainer.selection.record()
    if trainer.selection.evaluation is not None:
        report_path = out_dir / "best_evaluation.json"
        report = {**trainer.selection.evaluation, "selection": selection}
        report_path.write_text(json.dumps(report, indent=2, default=str))
        tracker.log_artifact(report_path)
    if trainer.tracking_params.log_checkpoint:
        tracker.log_artifact(out_dir / "best.safetensors", "checkpoint")
    final = {"selected_epoch": float(selection["epoch"] or len(trainer.history)), **trainer.time_to_top1}
    if selection["val_score"] is not None:
        final["selected_val_score"] = float(selection["val_score"])
    tracker.log_metrics(final, len(trainer.history))
    if tracker.active and tracker.run_id is not None:  # the run's own record of which rule chose it
        tracker.client.set_tag(tracker.run_id, "selected_epoch", str(int(final["selected_epoch"])))
