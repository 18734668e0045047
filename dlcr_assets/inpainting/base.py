"""The inpainter interface every backend (recolor, diffusers) implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image


@dataclass
class InpaintJob:
    """One image to repaint: source RGB, binary clothes mask (L, 0/255), target outfit prompt, seed.

    ``label_map`` is the human-parsing map in LIP label ids when the masks step has one; backends
    that paint garment by garment (recolor) use it, diffusion backends ignore it.
    """

    image: Image.Image
    mask: Image.Image
    prompt: str
    seed: int
    label_map: np.ndarray | None = None


class Inpainter(Protocol):
    backend: str
    model_id: str
    # whether jobs should carry the parsing label map (the engine reads it only for such backends)
    needs_label_map: bool

    def pixel_settings(self) -> dict:
        """Everything besides the job that determines the output pixels (backend, model, revision,
        sampler settings): the engine fingerprints it, so a change makes earlier images stale."""
        ...

    def inpaint(self, jobs: list[InpaintJob]) -> list[Image.Image]:
        """Return one RGB image per job, same size as the job's source image.

        The generation engine composites the result inside the mask, so a backend need not keep
        the outside pixels exact itself.
        """
        ...
