"""DistributedDataParallel set-up: the same training entry runs alone or under torchrun.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; with WORLD_SIZE > 1 the
process group is created here (NCCL on CUDA, gloo on CPU) unless the caller already made one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from dlcr_reid.device import resolve_device


@dataclass
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # we created the process group, so we destroy it

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def all_finite(self, value: torch.Tensor) -> bool:
        """True when the value is finite on every rank (so all ranks stop together on NaN)."""
        flag = torch.isfinite(value.detach()).all().to(torch.int32).reshape(1)
        if self.enabled:
            if dist.get_backend() == "nccl":
                flag = flag.cuda()
            else:
                flag = flag.cpu()
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())

    def average_buffers(self, module: torch.nn.Module) -> None:
        """Average BN running statistics over ranks (DDP keeps parameters, not buffers, in step)."""
        if not self.enabled:
            return
        for buffer in module.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
                buffer.div_(self.world_size)

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device: str) -> DistributedContext:
    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", 0))
    use_nccl = torch.device(resolve_device(device, local_rank)).type == "cuda"
    if use_nccl:
        torch.cuda.set_device(local_rank)
    # rank 0 evaluates alone while the others wait at a barrier: allow long evaluations
    dist.init_process_group(backend="nccl" if use_nccl else "gloo", rank=rank, world_size=world_size,
                            timeout=timedelta(hours=2))
    return DistributedContext(rank, world_size, local_rank, owns_group=True)
