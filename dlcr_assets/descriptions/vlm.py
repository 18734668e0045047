"""VLM describer: any image-text-to-text checkpoint answers "What clothes is the person wearing?".

Original DLCR: LLaVA 1.5 with the llava_v1 conversation (USER: <image>\\n{question} ASSISTANT:),
temperature 0.2, up to 1024 new tokens. Here the conversation comes from the processor's own chat
template (llava-hf checkpoints ship the llava_v1 roles), so other families (BLIP, Qwen-VL, ...)
work unchanged; a processor without a template gets the llava_v1 text.
"""
from __future__ import annotations

from PIL import Image

from dlcr_assets.hub import load_text_generator, run_halving_on_oom
from dlcr_assets.params.descriptions import DescriptionsParams

LLAVA_V1_TEMPLATE = (
    "A chat between a curious human and an artificial intelligence assistant. The assistant gives "
    "helpful, detailed, and polite answers to the human's questions. USER: <image>\n{question} ASSISTANT:"
)


class VlmDescriber:
    """Processor + model loaded once (on ``device``, fp16 on CUDA by default); ``describe`` answers a batch."""

    backend = "vlm"

    def __init__(self, params: DescriptionsParams, device: str = "auto"):
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.params = params
        self.model_id = params.model_id
        self.device, self.processor, self.tokenizer, self.model = load_text_generator(
            AutoModelForImageTextToText, AutoProcessor, params, device, "descriptions vlm (descriptions.model_id)")
        self.prompt = self._conversation(params.question)

    def _conversation(self, question: str) -> str:
        if getattr(self.processor, "chat_template", None):
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
            return self.processor.apply_chat_template(messages, add_generation_prompt=True)
        return LLAVA_V1_TEMPLATE.format(question=question)

    def _answer_batch(self, images: list[Image.Image | str]) -> list[str]:
        import torch

        # Paths are opened batch by batch so a whole dataset never sits in memory.
        images = [Image.open(image).convert("RGB") if not isinstance(image, Image.Image) else image for image in images]
        inputs = self.processor(
            images=images, text=[self.prompt] * len(images), padding=True, return_tensors="pt"
        ).to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        sample = self.params.temperature > 0
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                do_sample=sample,
                temperature=self.params.temperature if sample else None,
                max_new_tokens=self.params.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        return [answer.strip() for answer in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]

    def describe(self, images: list[Image.Image | str]) -> list[str]:
        """One answer per image (PIL image or path), in params.batch_size batches (halved on CUDA out-of-memory)."""
        return run_halving_on_oom(images, self.params.batch_size, self._answer_batch, "descriptions vlm")
