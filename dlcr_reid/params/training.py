"""The training section (CAL baseline and DLCR training) and its paper values.

Defaults are the CPU demo: ResNet-18 from scratch at 96x48, 16 epochs, Adam 1e-3 with one x0.1
step at epoch 12, no random erasing (from scratch and this short, a higher lr and no erasing
converge within the demo's budget; see the README's demo figures), CAL from epoch 5 and the
progressive schedule scaled down; the demo profile adds a floor of ``DEMO_MIN_STEPS`` optimizer
steps (``min_steps``, training/schedule.py), so a smaller dataset is not stopped early. The
top-level ``profile: paper`` of params.yaml (applied by dlcr_assets.params) fills every field
the YAML leaves unset with ``PAPER_TRAINING``, SPEC §1.6 exactly (ResNet-50 ImageNet, 384x192,
P=4 x K=8, 60 epochs, lr x0.1 at 20 and 40, clothes classifier and CAL from epoch 25). Fields set explicitly in the YAML always win over the profile.

Progressive learning: ``progressive_schedule`` is a list of ``[start_epoch, fraction]`` written in
the epochs of a ``progressive_reference_epochs``-long run (60, the paper's). A run of ``epochs``
epochs starts each stage at ``ceil(start_epoch * epochs / progressive_reference_epochs)``, so the
paper schedule (0-5: 25%, 6-10: 50%, 11-15: 75%, then all) keeps its shape in short demo runs; with
``epochs == progressive_reference_epochs`` it is applied exactly.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from dlcr_reid.params.base import StrictModel

# SPEC §1.6; the training values of the top-level `profile: paper`.
PAPER_TRAINING: dict[str, Any] = {
    "backbone": "resnet50",
    "weights": "imagenet",
    "height": 384,
    "width": 192,
    "ids_per_batch": 4,
    "images_per_id": 8,
    "epochs": 60,
    "lr": 3.5e-4,
    "milestones": [20, 40],
    "random_erasing": 0.5,
    "cal_start_epoch": 25,
    "eval_every": 5,
    "num_workers": 8,
    "max_steps_per_epoch": None,
    "min_steps": None,
    "time_to_top1": [40.0, 50.0, 60.0],
}

# the demo's step floor: the optimizer steps its 16 epochs give the embedded dataset (61 an epoch),
# rounded down to 16 x 60, so the embedded demo is trained exactly as before and a smaller dataset
# trains as long (issue 12: a set of 26 steps an epoch stopped far from converged at 16 epochs)
DEMO_MIN_STEPS = 960

PAPER_PROGRESSIVE_SCHEDULE: list[tuple[int, float]] = [(0, 0.25), (6, 0.5), (11, 0.75), (16, 1.0)]


class TrainingParams(StrictModel):
    # the top-level profile these values were resolved under, set by the params loader; recorded by
    # resolved() (checkpoints, MLflow) but left out of dumps, so a dump reads back as a params file
    profile: str = Field("demo", exclude=True)
    backbone: Literal["resnet18", "resnet34", "resnet50"] = "resnet18"
    # "imagenet" (torchvision weights, must already be cached), "none", or a local weights file
    weights: str = "none"
    height: int = Field(96, ge=16)
    width: int = Field(48, ge=8)
    ids_per_batch: int = Field(8, ge=2, description="P: identities per batch")
    images_per_id: int = Field(4, ge=1, description="K: real images per identity per batch")
    epochs: int = Field(16, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(5e-4, ge=0)
    milestones: list[int] = Field(default_factory=lambda: [12])
    gamma: float = Field(0.1, gt=0, le=1)
    # the clothes classifier and the CAL loss both start at this epoch (SPEC §1.6)
    cal_start_epoch: int = Field(5, ge=0)
    id_loss_weight: float = Field(1.0, ge=0)
    triplet_loss_weight: float = Field(0.0, ge=0)
    cal_loss_weight: float = Field(1.0, ge=0)
    clothes_loss_weight: float = Field(1.0, ge=0)
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    # probability of random erasing per image (CAL and the paper profile: 0.5). The demo trains from
    # scratch for a few epochs, where erasing slowed convergence (12 epochs at 96x48: DLCR CC top-1
    # 27.5 with erasing 0.5, 30.3 without)
    random_erasing: float = Field(0.0, ge=0, le=1)
    cal_scale: float = Field(16.0, gt=0)
    cal_epsilon: float = Field(0.1, ge=0, lt=1)
    triplet_margin: float = Field(0.3, ge=0)
    clothes_lr: float | None = Field(None, gt=0, description="clothes classifier Adam lr; None: same as lr")
    progressive: bool = True
    progressive_schedule: list[tuple[int, float]] = Field(
        default_factory=lambda: list(PAPER_PROGRESSIVE_SCHEDULE)
    )
    progressive_reference_epochs: int = Field(60, ge=1)
    # evaluate (test for the curves; val for selection val/holdout) every N epochs and after the last; 0: never
    eval_every: int = Field(4, ge=0)
    # CC top-1 levels (percent, as evaluation reports them): the training wall time (evaluation and
    # checkpoint writing excluded, summed over resumes) when each is first reached is logged, so
    # progressive learning's claimed saving can be measured (metrics time_to_cc_top1_<level>)
    time_to_top1: list[float] = Field(default_factory=lambda: [10.0, 20.0, 30.0])
    num_workers: int = Field(0, ge=0)
    seed: int = 0
    amp: bool = True  # CUDA only: autocast (bf16 where supported, else fp16 + GradScaler)
    channels_last: bool = True  # CUDA only
    deterministic: bool = False  # CUDA: cudnn deterministic instead of benchmark
    max_steps_per_epoch: int | None = Field(None, ge=1)
    # a floor in optimizer steps (training/schedule.py): a dataset with few steps an epoch gets more
    # epochs, and the milestones, CAL start, evaluation cadence and progressive stages move with them
    # as fractions of the run. None: the epochs as written (library default; the paper profile).
    # The demo profile sets DEMO_MIN_STEPS.
    min_steps: int | None = Field(None, ge=1)
    keep_checkpoints: int = Field(2, ge=0, description="epoch checkpoints kept on disk; 0: all")
    # a missing or corrupt training image (real or generated): False stops before the first step
    # naming it; True leaves it out and counts it (MLflow param unreadable_images)
    skip_unreadable: bool = False
    # which checkpoint is reported (training/selection.py): the last epoch, the best on the dataset's
    # validation split, or the best on held-out training identities; never the test split
    selection: Literal["last", "val", "holdout"] = "last"
    holdout_ids: float = Field(0.2, gt=0, description="selection holdout: identities held out (< 1: a fraction)")


    @field_validator("milestones")
    @classmethod
    def _sorted_milestones(cls, value: list[int]) -> list[int]:
        if value != sorted(value) or any(m < 1 for m in value):
            raise ValueError(f"milestones must be increasing positive epochs, got {value}")
        return value

    @field_validator("progressive_schedule")
    @classmethod
    def _valid_schedule(cls, value: list[tuple[int, float]]) -> list[tuple[int, float]]:
        if not value or value[0][0] != 0:
            raise ValueError("progressive_schedule must start with a stage at epoch 0, e.g. [[0, 0.25], ...]")
        starts = [start for start, _ in value]
        fractions = [fraction for _, fraction in value]
        if starts != sorted(starts) or fractions != sorted(fractions):
            raise ValueError(f"progressive_schedule stages must grow in epoch and fraction, got {value}")
        if any(not 0 < f <= 1 for f in fractions):
            raise ValueError(f"progressive_schedule fractions must be in (0, 1], got {fractions}")
        return value

    @property
    def batch_images(self) -> int:
        """Real images per step (P x K); DLCR adds as many generated ones."""
        return self.ids_per_batch * self.images_per_id

    def resolved(self) -> dict[str, Any]:
        """The final values (profile applied), JSON-friendly, for checkpoints and MLflow."""
        values = {"profile": self.profile, **self.model_dump(mode="json")}
        values["clothes_lr"] = self.clothes_lr if self.clothes_lr is not None else self.lr
        return values
