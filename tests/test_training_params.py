"""Training params profiles and the progressive-learning schedule."""
import pytest
from pydantic import ValidationError

from dlcr_assets.params import parse_params
from dlcr_reid.params import TrainingParams
from dlcr_reid.training.progressive import allowed_variant_count, stage_starts, variant_fraction


def _paper(**training) -> TrainingParams:
    """The training section under the top-level `profile: paper`, with ``training`` keys set explicitly."""
    return parse_params({"profile": "paper", "training": training}).training


def test_paper_profile_is_spec_1_6():
    paper = _paper()
    assert paper.profile == "paper"
    assert (paper.backbone, paper.weights, paper.height, paper.width) == ("resnet50", "imagenet", 384, 192)
    assert (paper.ids_per_batch, paper.images_per_id, paper.batch_images) == (4, 8, 32)
    assert (paper.epochs, paper.milestones, paper.gamma, paper.cal_start_epoch) == (60, [20, 40], 0.1, 25)
    assert (paper.lr, paper.weight_decay, paper.label_smoothing) == (3.5e-4, 5e-4, 0.1)
    assert (paper.cal_scale, paper.cal_epsilon, paper.triplet_margin, paper.triplet_loss_weight) == (16, 0.1, 0.3, 0)


def test_explicit_fields_override_the_profile_and_resolved_is_final():
    params = _paper(epochs=30, backbone="resnet18")
    assert (params.epochs, params.backbone, params.height) == (30, "resnet18", 384)
    resolved = params.resolved()
    assert resolved["epochs"] == 30 and resolved["clothes_lr"] == params.lr


def test_invalid_values_name_the_field():
    with pytest.raises(ValidationError, match="backbone"):
        TrainingParams(backbone="vgg16")
    with pytest.raises(ValidationError, match="progressive_schedule"):
        TrainingParams(progressive_schedule=[(3, 0.5)])
    with pytest.raises(ValidationError, match="milestones"):
        TrainingParams(milestones=[40, 20])


def test_paper_schedule_is_exact_at_60_epochs():
    paper = _paper()
    assert stage_starts(paper) == [(0, 0.25), (6, 0.5), (11, 0.75), (16, 1.0)]
    expected = {0: 0.25, 5: 0.25, 6: 0.5, 10: 0.5, 11: 0.75, 15: 0.75, 16: 1.0, 59: 1.0}
    assert {epoch: variant_fraction(paper, epoch) for epoch in expected} == expected


def test_short_runs_scale_the_schedule_and_keep_the_first_stage():
    demo = TrainingParams(epochs=12)
    assert stage_starts(demo) == [(0, 0.25), (2, 0.5), (3, 0.75), (4, 1.0)]
    two_epochs = TrainingParams(epochs=2, milestones=[1])
    assert [variant_fraction(two_epochs, e) for e in range(2)] == [0.25, 1.0]
    assert variant_fraction(TrainingParams(progressive=False), 0) == 1.0


def test_allowed_variant_count():
    assert [allowed_variant_count(10, f) for f in (0.25, 0.5, 0.75, 1.0)] == [3, 5, 8, 10]
    assert allowed_variant_count(4, 0.25) == 1 and allowed_variant_count(1, 0.25) == 1
    assert allowed_variant_count(0, 0.5) == 0
