"""The CAL ReID model (Gu et al., CVPR 2022): ResNet, max+avg pooling, BN neck, two classifiers."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dlcr_reid.errors import ReidInputError

BACKBONE_CHANNELS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048}


def _torchvision_resnet(name: str, weights: str) -> nn.Module:
    """A torchvision ResNet with ``weights`` = "imagenet" (cached only), "none" or a local file."""
    import torchvision

    if name not in BACKBONE_CHANNELS:
        raise ReidInputError(f"training.backbone {name!r} unknown; allowed: {sorted(BACKBONE_CHANNELS)}")
    net = getattr(torchvision.models, name)(weights=None)
    if weights == "none":
        return net
    if weights == "imagenet":
        state = _cached_imagenet_state(name)
    else:
        state = _local_state(Path(weights))
    # the ImageNet fc layer is not part of the ReID model; everything else must match
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("fc.")]
    if missing or unexpected:
        raise ReidInputError(
            f"training.weights {weights!r} does not fit {name}: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    return net


def _cached_imagenet_state(name: str) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet weights from the local torch hub cache; never downloads."""
    import torchvision

    enum = {"resnet18": "ResNet18_Weights", "resnet34": "ResNet34_Weights", "resnet50": "ResNet50_Weights"}[name]
    url = getattr(torchvision.models, enum).IMAGENET1K_V1.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    if not cached.is_file():
        raise ReidInputError(
            f"training.weights 'imagenet': {name} ImageNet weights are not cached at {cached}; "
            f"download {url} there, or set training.weights to a local file or 'none'"
        )
    return torch.load(cached, map_location="cpu", weights_only=True)


def _local_state(path: Path) -> dict[str, torch.Tensor]:
    """A backbone state dict from a safetensors or torch file (common wrapper prefixes removed)."""
    if not path.is_file():
        raise ReidInputError(f"training.weights: no such weights file {path} (or use 'imagenet' / 'none')")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict):
        raise ReidInputError(f"training.weights: {path} does not hold a state dict")
    for prefix in ("module.", "backbone.", "base."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


class CosineClassifier(nn.Module):
    """Clothes classifier: cosine between L2-normalised features and class weights (scale in the loss)."""

    def __init__(self, feature_dim: int, num_classes: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_classes, feature_dim) * 0.01)

    def forward(self, features: torch.Tensor, detach_weight: bool = False) -> torch.Tensor:
        weight = self.weight.detach() if detach_weight else self.weight
        return F.linear(F.normalize(features, dim=1), F.normalize(weight, dim=1))


class CALModel(nn.Module):
    """ResNet with last stride 1, concatenated global max and average pooling, BN neck, id classifier.

    Eval mode: ``model(x)`` is the BN-neck retrieval feature [B, 2 x channels]. Train mode: a dict
    with ``features`` (same BN output) and ``id_logits``. The cosine clothes classifier is a separate
    module (its own optimiser, and DDP must not see it as an unused parameter of this one).
    """

    def __init__(self, backbone: str = "resnet50", num_ids: int = 1, weights: str = "none") -> None:
        super().__init__()
        net = _torchvision_resnet(backbone, weights)
        first_block = net.layer4[0]
        # last stride 1: doubles the final feature map, as in CAL
        for conv in (first_block.conv1, first_block.conv2):
            conv.stride = (1, 1)
        if first_block.downsample is not None:
            first_block.downsample[0].stride = (1, 1)
        self.backbone = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4
        )
        self.backbone_name = backbone
        self.input_size: tuple[int, int] | None = None  # (height, width) it was trained at
        self.feature_dim = 2 * BACKBONE_CHANNELS[backbone]
        self.bn = nn.BatchNorm1d(self.feature_dim)
        nn.init.normal_(self.bn.weight, 1.0, 0.02)
        nn.init.zeros_(self.bn.bias)
        self.id_classifier = nn.Linear(self.feature_dim, num_ids)
        nn.init.normal_(self.id_classifier.weight, std=0.001)
        nn.init.zeros_(self.id_classifier.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        maps = self.backbone(images)
        pooled = torch.cat([F.adaptive_max_pool2d(maps, 1), F.adaptive_avg_pool2d(maps, 1)], dim=1).flatten(1)
        # BN statistics in fp32 even under autocast
        features = self.bn(pooled.float())
        if not self.training:
            return features
        return {"features": features, "id_logits": self.id_classifier(features)}
