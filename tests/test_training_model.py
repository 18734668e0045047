"""The CAL model: output shapes, last stride 1, weight sources, checkpoint round trip."""
import pytest
import torch
from safetensors.torch import save_file

from dlcr_reid.errors import ReidInputError
from dlcr_reid.models import CALModel, build_model, load_checkpoint
from dlcr_reid.training.checkpoint import save_checkpoint
from dlcr_reid.models import build_clothes_classifier
from training_support import tiny_params


def test_eval_returns_bn_feature_train_returns_dict():
    model = build_model(tiny_params(), num_ids=5)
    images = torch.randn(3, 3, 64, 32)
    out = model.train()(images)
    assert set(out) >= {"features", "id_logits"}
    assert out["features"].shape == (3, 1024) and out["id_logits"].shape == (3, 5)
    assert model.eval()(images).shape == (3, 1024)
    # last stride 1: layer4 keeps layer3's spatial size (64x32 input -> 4x2)
    assert model.backbone(images).shape[-2:] == (4, 2)


def test_weights_from_local_file_and_clear_errors(tmp_path):
    source = CALModel("resnet18", num_ids=2)
    import torchvision

    reference = torchvision.models.resnet18(weights=None)
    weights = {f"module.{k}": v.clone() for k, v in reference.state_dict().items()}
    save_file(weights, str(tmp_path / "r18.safetensors"))
    loaded = CALModel("resnet18", num_ids=2, weights=str(tmp_path / "r18.safetensors"))
    assert torch.equal(loaded.backbone[0].weight, reference.conv1.weight)
    assert not torch.equal(source.backbone[0].weight, reference.conv1.weight)
    torch.save(reference.state_dict(), tmp_path / "r18.pt")
    CALModel("resnet18", num_ids=2, weights=str(tmp_path / "r18.pt"))
    with pytest.raises(ReidInputError, match="no such weights file"):
        CALModel("resnet18", num_ids=2, weights=str(tmp_path / "absent.pt"))
    with pytest.raises(ReidInputError, match="does not fit resnet34"):
        CALModel("resnet34", num_ids=2, weights=str(tmp_path / "r18.pt"))


def test_imagenet_weights_not_cached_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ReidInputError, match="not cached"):
        CALModel("resnet18", num_ids=2, weights="imagenet")


def test_checkpoint_round_trip(tmp_path):
    model = build_model(tiny_params(), num_ids=3)
    clothes = build_clothes_classifier(model.feature_dim, 4)
    meta = {"backbone": "resnet18", "num_ids": 3, "num_clothes": 4, "label_maps": {"pid": [5, 6, 7]}}
    save_checkpoint(tmp_path / "best", model, clothes, meta)
    loaded, loaded_meta = load_checkpoint(tmp_path / "best.safetensors")
    images = torch.randn(2, 3, 32, 16)
    assert torch.allclose(loaded(images), model.eval()(images))
    assert loaded_meta["label_maps"]["pid"] == [5, 6, 7] and not loaded.training
    with pytest.raises(ReidInputError, match="not found"):
        load_checkpoint(tmp_path / "missing")
