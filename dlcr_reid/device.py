"""The one place a device option ("auto", "cpu", "cuda", "cuda:1", ...) becomes a torch device name."""
from __future__ import annotations


def resolve_device(device: str = "auto", local_rank: int | None = None) -> str:
    """"auto" is "cuda" when a GPU is visible, else "cpu"; a bare "cuda" gets the local rank's index
    when one is given (one process per GPU under torchrun)."""
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and local_rank is not None:
        device = f"cuda:{local_rank}"
    return device
