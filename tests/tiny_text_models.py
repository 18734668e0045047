"""Tiny random text models in the real Hugging Face formats, for tests of the transformers backends.

A tiny LLaVA (CLIP vision tower + Llama text model + LlavaProcessor) and a tiny Llama chat model,
both with a byte-level BPE tokenizer trained in-process, are saved with ``save_pretrained`` and can
be placed into a Hugging Face cache layout under the production ids, so that with
``HF_HUB_OFFLINE=1`` the very ``from_pretrained("llava-hf/llava-1.5-7b-hf")`` a GPU user runs
loads them. Weights are random: generated text is gibberish, which is what the fallback tests need.
"""
from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    CLIPImageProcessor,
    CLIPVisionConfig,
    LlamaConfig,
    LlamaForCausalLM,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    PreTrainedTokenizerFast,
)

# Llama-2-chat style: [INST] user [/INST] assistant</s>
LLAMA_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ bos_token }}[INST] {{ message['content'] }} [/INST]"
    "{% elif message['role'] == 'assistant' %} {{ message['content'] }}{{ eos_token }}"
    "{% else %}<<SYS>>{{ message['content'] }}<</SYS>>{% endif %}"
    "{% endfor %}"
)

# llava-hf style (llava_v1 roles): "USER: <image>\n{question} ASSISTANT:"
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'].upper() }}: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %} {% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

_CORPUS = [
    "What clothes is the person wearing? The person is wearing a red coat over a white shirt.",
    "Extract the clothing items from the following text: black trousers, blue jeans, brown shoes.",
    "1. navy jacket\n2. grey sweater\n- striped t-shirt\n* checked skirt",
    "USER: ASSISTANT: [INST] [/INST] Propose a new outfit.",
]

TINY_IMAGE_SIZE = 28
TINY_PATCH_SIZE = 14


def build_tokenizer(extra_special: tuple[str, ...] = ()) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (any text encodes) trained on a few sentences, ~300 tokens."""
    specials = ["<unk>", "<s>", "</s>", "<pad>", *extra_special]
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(_CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        extra_special_tokens=list(extra_special) or None,
    )
    return tokenizer


def _tiny_llama_config(tokenizer: PreTrainedTokenizerFast) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def build_tiny_llama(folder: Path, seed: int = 0) -> Path:
    """Save a 1-layer Llama chat model (hidden size 16) with tokenizer and chat template to ``folder``."""
    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    tokenizer.chat_template = LLAMA_CHAT_TEMPLATE
    model = LlamaForCausalLM(_tiny_llama_config(tokenizer))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)


def build_parroting_llama(folder: Path, reply: str, prompts: list[str], steps: int = 150, seed: int = 0) -> Path:
    """A tiny Llama trained in-process (a second or two) to answer any chat message with ``reply``.

    It exercises the success path of the LLM backends (usable replies parsed into items) through
    the same from_pretrained / chat template / generate code a real model goes through.
    """
    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    tokenizer.chat_template = LLAMA_CHAT_TEMPLATE
    config = _tiny_llama_config(tokenizer)
    config.hidden_size, config.intermediate_size = 32, 64
    model = LlamaForCausalLM(config)
    answer = tokenizer(" " + reply, add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
    rows, labels = [], []
    for prompt in prompts:
        head = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                             tokenize=False)
        head_ids = tokenizer(head, add_special_tokens=False).input_ids
        rows.append(head_ids + answer)
        labels.append([-100] * len(head_ids) + answer)  # learn the answer only
    width = max(len(row) for row in rows)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows])
    label_ids = torch.tensor([[-100] * (width - len(r)) + r for r in labels])
    attention = (torch.arange(width)[None, :] >= torch.tensor([width - len(r) for r in rows])[:, None]).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, attention_mask=attention, labels=label_ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if loss.item() < 5e-3:  # memorised: sampling at temperature < 1 repeats it
            break
    model.eval()
    model.generation_config.pad_token_id = pad
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)


def build_tiny_llava(folder: Path, seed: int = 0) -> Path:
    """Save a tiny LLaVA-1.5-format model (CLIP vision 28x28, Llama text) plus its processor."""
    torch.manual_seed(seed)
    tokenizer = build_tokenizer(extra_special=("<image>",))
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    vision = CLIPVisionConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
        image_size=TINY_IMAGE_SIZE, patch_size=TINY_PATCH_SIZE, projection_dim=16,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=_tiny_llama_config(tokenizer),
        image_token_id=image_token_id,
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
    )
    model = LlavaForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": TINY_IMAGE_SIZE},
        crop_size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE},
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=TINY_PATCH_SIZE,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # the CLS token of the CLIP tower, as in llava-hf checkpoints
        chat_template=LLAVA_CHAT_TEMPLATE,
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return Path(folder)




_BUILT: dict[str, Path] = {}


def tiny_model_folder(name: str, build, base_dir: Path) -> Path:
    """Build a tiny model once per test session (``build(folder)``) and return its folder."""
    if name not in _BUILT:
        folder = Path(base_dir) / name
        build(folder)
        _BUILT[name] = folder
    return _BUILT[name]




# Toy inputs for the description/prompt tests: people drawn as colour bands with their LIP map.
DARK_RED, WHITE, BLACK, BROWN = (120, 15, 25), (235, 235, 232), (20, 20, 22), (120, 75, 40)


def draw_person(image_path: Path, parsing_path: Path, top, trousers, shoes, coat=None) -> None:
    """A 32x64 "person": top band (label 5), coat sleeves at the sides (7), trousers (9), shoes (18/19)."""
    import numpy as np
    from PIL import Image

    pixels = np.full((64, 32, 3), 128, np.uint8)
    labels = np.zeros((64, 32), np.uint8)
    pixels[10:30], labels[10:30] = top, 5
    if coat is not None:
        for columns in (slice(0, 8), slice(24, 32)):
            pixels[10:30, columns], labels[10:30, columns] = coat, 7
    pixels[30:55], labels[30:55] = trousers, 9
    pixels[55:] = shoes
    labels[55:, :16], labels[55:, 16:] = 18, 19
    Image.fromarray(pixels).save(image_path)
    Image.fromarray(labels, mode="L").save(parsing_path)


def toy_index(folder: Path):
    """An index table (contract columns + parsing_path) of 5 images: 2 training outfits of 2 images, 1 query."""
    import pandas as pd

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    people = [  # (pid, clothes_id, split, top, trousers, shoes, coat)
        (0, 0, "train", WHITE, BLACK, BROWN, DARK_RED),
        (0, 0, "train", WHITE, BLACK, BROWN, DARK_RED),
        (1, 1, "train", (35, 80, 200), (170, 160, 110), BLACK, None),
        (1, 1, "train", (35, 80, 200), (170, 160, 110), BLACK, None),
        (7, 0, "query", WHITE, WHITE, WHITE, None),
    ]
    rows = []
    for n, (pid, clothes_id, split, top, trousers, shoes, coat) in enumerate(people):
        image = folder / f"{pid:03d}_{clothes_id}_c1_{n:04d}.png"
        parsing = folder / f"parsing_{image.name}"
        draw_person(image, parsing, top, trousers, shoes, coat)
        rows.append({
            "path": str(image), "pid": pid, "camid": 0, "clothes_id": clothes_id, "split": split,
            "dataset": "toy", "pid_raw": str(pid), "clothes_raw": str(clothes_id), "parsing_path": str(parsing),
        })
    return pd.DataFrame(rows)
