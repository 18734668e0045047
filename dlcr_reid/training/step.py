"""One optimisation step of CAL / DLCR training: every loss, AMP and the finite check (SPEC §1.6).

The real half of a batch (and in DLCR mode its generated partners, which keep the identity label
and carry no clothes label) is forwarded together; identity CE (+ optional triplet) is taken on
both halves. From ``cal_start_epoch`` the cosine clothes classifier is first updated on the
DETACHED real features with its own Adam, then the CAL loss on the live real features (classifier
weights held fixed) joins the backbone's loss. Change a loss here; the loop only calls ``step``.
"""
from __future__ import annotations

from typing import Any

import torch

from dlcr_reid.errors import ReidInputError
from dlcr_reid.losses import (
    BatchHardTripletLoss,
    ClothesAdversarialLoss,
    ClothesClassificationLoss,
    CrossEntropyLabelSmoothing,
)
from dlcr_reid.params.training import TrainingParams
from dlcr_reid.training.distributed import DistributedContext

LOSS_KEYS = ("loss_total", "loss_id", "loss_triplet", "loss_cal", "loss_clothes")


class TrainStep:
    """The optimisers, the AMP scaler and the losses; ``step(batch, ...)`` runs one update."""

    def __init__(
        self,
        params: TrainingParams,
        model: torch.nn.Module,
        clothes_classifier: torch.nn.Module,
        train_model: torch.nn.Module,
        train_clothes: torch.nn.Module,
        positive_mask: torch.Tensor,
        device: torch.device,
        dist: DistributedContext,
        channels_last: bool,
    ) -> None:
        self.params, self.device, self.dist, self.channels_last = params, device, dist, channels_last
        # ``model``/``clothes_classifier`` are the bare modules; ``train_*`` their DDP wrappers (or themselves)
        self.clothes_classifier, self.train_model, self.train_clothes = clothes_classifier, train_model, train_clothes
        self.positive_mask = positive_mask
        self.optimizer = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
        self.clothes_optimizer = torch.optim.Adam(
            clothes_classifier.parameters(), lr=params.resolved()["clothes_lr"], weight_decay=params.weight_decay
        )
        on_cuda = device.type == "cuda"
        self.use_amp = on_cuda and params.amp
        self.amp_dtype = torch.bfloat16 if self.use_amp and torch.cuda.is_bf16_supported() else torch.float16
        # bf16 needs no loss scaling; fp16 does
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.id_loss = CrossEntropyLabelSmoothing(params.label_smoothing)
        self.triplet_loss = BatchHardTripletLoss(params.triplet_margin)
        self.clothes_loss = ClothesClassificationLoss(params.cal_scale)
        self.cal_loss = ClothesAdversarialLoss(params.cal_scale, params.cal_epsilon)

    def set_lr(self, epoch: int) -> float:
        """Step decay: lr x gamma at each milestone reached."""
        decays = sum(1 for milestone in self.params.milestones if epoch >= milestone)
        lr = self.params.lr * self.params.gamma**decays
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def check_finite(self, losses: dict[str, torch.Tensor], epoch: int, step: int) -> None:
        total = torch.stack([v.detach().float() for v in losses.values()]).sum()
        if not self.dist.all_finite(total):
            values = ", ".join(f"{k}={v.item():.4g}" for k, v in losses.items())
            raise ReidInputError(
                f"non-finite training loss at epoch {epoch + 1} step {step + 1} ({values}); check the input images, "
                "training.weights and the learning rate"
            )

    def step(self, batch: dict[str, Any], epoch: int, step: int) -> tuple[dict[str, torch.Tensor], int, int]:
        """One update of the backbone (and, from cal_start_epoch, the clothes classifier).

        Returns the detached losses, the images forwarded and how many of them were generated.
        """
        params = self.params
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
        if epoch >= params.cal_start_epoch:
            cosine = self.train_clothes(real_features.detach())
            clothes_loss = params.clothes_loss_weight * self.clothes_loss(cosine, clothes)
            self.check_finite({"loss_clothes": clothes_loss}, epoch, step)
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
        self.check_finite(losses, epoch, step)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {k: v.detach() for k, v in losses.items()}, images.shape[0], images.shape[0] - num_real
