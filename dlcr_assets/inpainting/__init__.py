"""Inpainting backends behind one interface (base.Inpainter), chosen by ``generation.backend``."""
from __future__ import annotations

from dlcr_assets.inpainting.base import InpaintJob, Inpainter
from dlcr_assets.params.generation import GenerationParams


def load_inpainter(params: GenerationParams, device: str = "auto") -> Inpainter:
    """Build the backend named by ``params.backend``; a model that cannot load raises StepInputError."""
    from dlcr_assets.hub import resolve_device

    device = resolve_device(device)
    if params.backend == "diffusers":
        from dlcr_assets.inpainting.diffusers_backend import DiffusersInpainter

        return DiffusersInpainter(params, device)
    if params.backend == "recolor":
        # imported late: the recolor backend is its own module, and diffusers stays unimported for it
        from dlcr_assets.inpainting.recolor import RecolorInpainter

        return RecolorInpainter(params)
    raise ValueError(f"unknown generation.backend {params.backend!r}; allowed: recolor, diffusers")


__all__ = ["InpaintJob", "Inpainter", "load_inpainter"]
