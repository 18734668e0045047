"""`diffusers` backend: text-guided inpainting with any diffusers inpainting pipeline (SD 1.5, SDXL).

The pipeline is loaded by id or local folder through ``AutoPipelineForInpainting.from_pretrained``
with the safety checker off; attention runs through PyTorch SDPA (diffusers' default on torch 2;
``attention: sdpa`` sets it explicitly). The speed switches (dlcr_assets.inpainting.speed) are set
after the scheduler, before discriminator guidance wraps the UNet.
Every job gets its own ``torch.Generator`` seeded from the job, so an image can be regenerated
bit-for-bit on the same hardware and batch size. Outputs are resized back to the source size; the
engine then pastes them inside the mask.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from PIL import Image

from dlcr_assets.hub import load_pretrained, model_revision, run_in_batches
from dlcr_assets.inpainting.base import InpaintJob
from dlcr_assets.inpainting.speed import apply_speedups, auto_batch_size, pipeline_dtype
from dlcr_assets.params.generation import GenerationParams

log = logging.getLogger(__name__)

# params name -> diffusers scheduler class name (built with from_config, so the checkpoint's
# betas and timestep spacing carry over)
SCHEDULERS = {
    "ddim": "DDIMScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "pndm": "PNDMScheduler",
    "unipc": "UniPCMultistepScheduler",
}


def pipeline_revision(pipe, model_id: str) -> str:
    """What identifies the loaded weights: the hub snapshot (commit) they came from, else the id or folder."""
    return model_revision(str(getattr(pipe, "config", {}).get("_name_or_path", "") or model_id), "model_index.json")


class DiffusersInpainter:
    backend = "diffusers"
    needs_label_map = False  # diffusion repaints the whole mask from the prompt

    def __init__(self, params: GenerationParams, device: str, pipe=None):
        from diffusers import AutoPipelineForInpainting

        self.params = params
        self.model_id = params.model_id
        self.device = device
        dtype = pipeline_dtype(params.dtype, device)
        if pipe is None:
            pipe = load_pretrained(
                AutoPipelineForInpainting.from_pretrained, params.model_id, "inpainting pipeline",
                dtype=dtype, safety_checker=None, requires_safety_checker=False,
            )
        if params.scheduler != "default":
            import diffusers

            scheduler_class = getattr(diffusers, SCHEDULERS[params.scheduler])
            pipe.scheduler = scheduler_class.from_config(pipe.scheduler.config)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(device)
        self.speedups = apply_speedups(self.pipe, params)  # the switches that can move pixels (fingerprinted)
        self.dtype = str(dtype).removeprefix("torch.")
        self.revision = pipeline_revision(pipe, params.model_id)
        # auto is read now, with the weights on the device: what is free is what the batch may use
        self.batch_size = (auto_batch_size(params.width, params.height, dtype, device)
                           if params.batch_size == "auto" else params.batch_size)
        self.guidance = None  # the UNet patch of discriminator guidance (SPEC §1.5); off: nothing loaded
        if params.discriminator_guidance.enabled:
            from dlcr_assets.discriminator import enable_guidance

            self.guidance = enable_guidance(self.pipe, params.discriminator_guidance, device=device)

    def pixel_settings(self) -> dict:
        """Everything besides the job (image, mask, prompt, seed) that determines the output pixels."""
        p = self.params
        settings = {"backend": self.backend, "model_id": self.model_id, "revision": self.revision,
                    "scheduler": p.scheduler, "steps": p.steps, "guidance": p.guidance, "strength": p.strength,
                    "dtype": self.dtype, "width": p.width, "height": p.height, **self.speedups}
        if p.discriminator_guidance.enabled:  # off adds no key: unguided fingerprints stay as they were
            from dlcr_assets.discriminator import guidance_fingerprint

            settings.update(guidance_fingerprint(p.discriminator_guidance))
        return settings

    def _call(self, jobs: list[InpaintJob]) -> list[Image.Image]:
        p = self.params
        generators = [torch.Generator(device=self.device).manual_seed(int(job.seed)) for job in jobs]
        result = self.pipe(
            prompt=[job.prompt for job in jobs],
            image=[job.image for job in jobs],
            mask_image=[job.mask for job in jobs],
            height=p.height, width=p.width, num_inference_steps=p.steps, guidance_scale=p.guidance,
            strength=p.strength, generator=generators, output_type="pil",
        )
        return [out.resize(job.image.size, Image.BICUBIC) for out, job in zip(result.images, jobs)]

    def inpaint(self, jobs: list[InpaintJob]) -> list[Image.Image]:
        """Run the jobs in batches of ``batch_size``; out of memory halves the batch (kept for later calls)."""
        outputs, self.batch_size = run_in_batches(jobs, self.batch_size, self._call, "inpainting")
        return outputs
