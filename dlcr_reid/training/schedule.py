"""A step floor for the training schedule: short datasets train for as many optimizer steps as long ones.

A schedule written in epochs trains a small dataset for few optimizer steps: 16 epochs are 976
steps on the embedded dataset (61 steps an epoch) but 416 on a set of 26 steps an epoch, where
both modes stop far from converged (issue 12). With ``training.min_steps`` set, a run whose
``epochs x steps_per_epoch`` falls short of it gets ``ceil(min_steps / steps_per_epoch)`` epochs,
and everything placed in epochs moves with them, as fractions of the run: the lr milestones, the
epoch the clothes classifier and CAL start, the evaluation cadence (so a run is evaluated as often)
and the progressive stages (already fractions of ``progressive_reference_epochs``). The same rule
holds for baseline and DLCR (both have the real images' steps per epoch). A run already long
enough is left exactly as written.
"""
from __future__ import annotations

import logging
import math

from dlcr_reid.params.training import TrainingParams

log = logging.getLogger(__name__)


def _scaled(epoch: int, factor: float) -> int:
    return int(math.floor(epoch * factor + 0.5))


def stretched_schedule(params: TrainingParams, steps_per_epoch: int) -> TrainingParams:
    """``params`` with enough epochs for ``min_steps`` optimizer steps, the schedule scaled with them."""
    if not params.min_steps or steps_per_epoch < 1 or params.epochs * steps_per_epoch >= params.min_steps:
        return params
    epochs = math.ceil(params.min_steps / steps_per_epoch)
    factor = epochs / params.epochs
    milestones: list[int] = []
    for milestone in params.milestones:
        scaled = min(max(_scaled(milestone, factor), 1), epochs)
        if not milestones or scaled > milestones[-1]:
            milestones.append(scaled)
    update = {"epochs": epochs, "milestones": milestones, "cal_start_epoch": _scaled(params.cal_start_epoch, factor),
              "eval_every": max(1, _scaled(params.eval_every, factor)) if params.eval_every else 0}
    log.info("training.min_steps=%d: %d epochs of %d steps would be %d steps; training %d epochs (milestones %s, "
             "CAL from epoch %d, evaluation every %d)", params.min_steps, params.epochs, steps_per_epoch,
             params.epochs * steps_per_epoch, epochs, milestones, update["cal_start_epoch"], update["eval_every"])
    return params.model_copy(update=update)


__all__ = ["stretched_schedule"]
