"""The step floor (training.min_steps): a short dataset gets more epochs and its whole schedule moves with them."""
from __future__ import annotations

import json

import pytest

from dlcr_assets.params import load_params
from dlcr_reid.params import TrainingParams
from dlcr_reid.params.training import DEMO_MIN_STEPS
from dlcr_reid.training.progressive import stage_starts
from dlcr_reid.training.schedule import stretched_schedule
from dlcr_reid.params import EvaluationParams, TrackingParams
from dlcr_reid.training.loop import ReidTrainer
from training_support import make_index, tiny_params

SHIPPED_DEMO = TrainingParams(min_steps=DEMO_MIN_STEPS)  # the demo profile's training section


def test_the_embedded_dataset_trains_exactly_as_written():
    # 61 steps an epoch: 16 epochs are 976 steps, above the floor, so nothing moves
    assert stretched_schedule(SHIPPED_DEMO, 61) is SHIPPED_DEMO
    assert stretched_schedule(SHIPPED_DEMO.model_copy(update={"min_steps": None}), 5).epochs == 16


@pytest.mark.parametrize("steps_per_epoch", [26, 10, 3])
def test_a_short_dataset_gets_the_floor_and_a_schedule_of_the_same_shape(steps_per_epoch):
    run = stretched_schedule(SHIPPED_DEMO, steps_per_epoch)
    assert run.epochs * steps_per_epoch >= DEMO_MIN_STEPS > (run.epochs - 1) * steps_per_epoch
    # the lr step, CAL start and evaluation cadence stay at the same fraction of the run
    assert run.milestones[0] / run.epochs == pytest.approx(12 / 16, abs=0.5 / run.epochs)
    assert run.cal_start_epoch / run.epochs == pytest.approx(5 / 16, abs=0.5 / run.epochs)
    assert run.epochs // run.eval_every in (3, 4, 5)
    # progressive stages are fractions of the run already: they scale with the new length
    starts = [start for start, _ in stage_starts(run)]
    assert starts == sorted(starts) and starts[-1] < run.epochs and starts[-1] > stage_starts(SHIPPED_DEMO)[-1][0]


def test_the_paper_profile_keeps_its_epochs(tmp_path):
    (tmp_path / "params.yaml").write_text("profile: paper\n")
    assert load_params(tmp_path / "params.yaml").training.min_steps is None
    (tmp_path / "params.yaml").write_text("profile: demo\n")
    assert load_params(tmp_path / "params.yaml").training.min_steps == DEMO_MIN_STEPS


def test_the_trainer_runs_the_stretched_schedule_and_records_it(tmp_path):
    index = make_index(tmp_path / "raw")
    params = tiny_params(min_steps=6)  # 2 steps an epoch, 2 epochs: 4 < 6 steps
    trainer = ReidTrainer(index, None, params, EvaluationParams(), TrackingParams(enabled=False), tmp_path / "run",
                          "baseline", "cpu")
    assert trainer.params.epochs == 3 and trainer.train_set.params.epochs == 3 and trainer.params.milestones == [2]
    result = trainer.fit()
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    saved = json.loads(result.last_checkpoint.with_suffix(".json").read_text())
    assert saved["epoch"] == 3 and saved["config"]["epochs"] == 3 and saved["config"]["min_steps"] == 6
