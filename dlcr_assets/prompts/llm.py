"""LLM prompt writer: an instruction-tuned causal LM turns an outfit's descriptions into clothing items.

Any chat model loads through transformers (original DLCR: Llama-2-7b-chat, temperature 0.6,
top_p 0.9). Its reply is parsed into items; a reply with no usable item is asked again and, after
``params.retries`` extra attempts, left to the caller's vocabulary fallback.
"""
from __future__ import annotations

import logging
import re

from dlcr_assets.hub import load_text_generator, run_halving_on_oom
from dlcr_assets.params.prompts import PromptsParams
from dlcr_assets.garments import GARMENT_REGIONS

log = logging.getLogger(__name__)

EXTRACTION_PROMPT = "Extract the clothing items from the following text: {text}"
PROPOSAL_PROMPT = (
    "Propose a new outfit for a person. List its clothing items one per line, each as a colour "
    "and a garment (for example: navy coat, white shirt, black trousers, brown shoes)."
)

# Clothing nouns beyond the shared vocabulary that real LLM replies use; a reply whose items name
# none of these (nor a vocabulary garment) is not a clothing list.
EXTRA_CLOTHING_WORDS = {
    "cap", "hat", "beanie", "belt", "bag", "backpack", "handbag", "purse", "vest", "sweatshirt",
    "pullover", "jumper", "leggings", "tights", "sandals", "heels", "loafers", "slippers", "trainers",
    "parka", "windbreaker", "tunic", "polo", "overalls", "uniform", "suit", "tie", "sunglasses",
    "glasses", "watch", "shoe", "boot", "sneaker", "sock", "glove", "jean", "trouser", "outfit",
}
_CLOTHING_WORDS = {word for garment in GARMENT_REGIONS for word in re.split(r"[ -]", garment)}
_CLOTHING_WORDS |= EXTRA_CLOTHING_WORDS | {"t-shirt", "tshirt"}
_CLOTHING_WORDS -= {"t", "tank"}

_LIST_MARK = re.compile(r"^\s*(?:\(?\d{1,2}[.):]|[-*•·‣●▪]|\+)\s*(.+)$")
_ITEM_CHARS = re.compile(r"^[a-z0-9][a-z0-9 '&/+-]*$")
_MAX_ITEM_WORDS = 8


def _clean_item(raw: str) -> str:
    """Lower-case an item and strip list debris: markdown, quotes, parentheses, articles, labels."""
    item = raw.strip().lower()
    item = re.sub(r"[*_`\"“”]", "", item)
    item = re.sub(r"\([^)]*\)", "", item)  # asides such as "(worn open)"
    if ":" in item:  # "top: white shirt" -> "white shirt"; "shirt:" -> "shirt"
        label, _, rest = item.partition(":")
        item = rest if rest.strip() else label
    item = item.strip(" .;,!?-'")
    item = re.sub(r"^(?:a pair of|pair of|an|a|the)\s+", "", item)
    return re.sub(r"\s+", " ", item).strip()


def parse_reply(reply: str) -> list[str]:
    """Items of a numbered, bulleted or comma-separated reply; lower-case, items of <= 2 chars dropped.

    Lines carrying list marks win over prose around them ("Sure! Here are the items:"); without
    marks the text after the last colon is split on commas, semicolons and "and".
    """
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    listed = [match.group(1) for line in lines if (match := _LIST_MARK.match(line))]
    if listed:
        raw_items = listed
    else:
        text = " ".join(lines)
        if ":" in text:
            text = text.rsplit(":", 1)[1]
        raw_items = re.split(r",|;|\band\b", text)
    items: list[str] = []
    for raw in raw_items:
        item = _clean_item(raw)
        if len(item) > 2 and item not in items:
            items.append(item)
    return items


def usable_items(items: list[str]) -> list[str]:
    """The items that look like clothing-list entries, or [] when the reply is not a clothing list.

    Items must be short plain words; the list must name at least one clothing noun, which is what
    tells a real reply from fluent-looking noise.
    """
    plain = [item for item in items if _ITEM_CHARS.match(item) and len(item.split()) <= _MAX_ITEM_WORDS]
    return plain if any(_names_clothing(item) for item in plain) else []


def _names_clothing(item: str) -> bool:
    """True when a word of ``item`` is a clothing noun, in the singular or the plural."""
    for word in re.split(r"[ /]", item):
        if word in _CLOTHING_WORDS or word.removesuffix("s") in _CLOTHING_WORDS or (
            word.endswith("es") and word[:-2] in _CLOTHING_WORDS
        ):
            return True
    return False


class LlmPromptWriter:
    """A chat LM loaded once; ``ask`` sends a batch of user messages and returns the replies."""

    backend = "llm"

    def __init__(self, params: PromptsParams, device: str = "auto"):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.params = params
        self.model_id = params.model_id
        self.device, _, self.tokenizer, self.model = load_text_generator(
            AutoModelForCausalLM, AutoTokenizer, params, device, "prompts llm (prompts.model_id)")

    def _chat_text(self, message: str) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": message}], add_generation_prompt=True, tokenize=False
            )
        return message  # a base model without a template gets the bare instruction

    def _generate(self, messages: list[str]) -> list[str]:
        import torch

        texts = [self._chat_text(message) for message in messages]
        # The chat template already holds the BOS token; adding special tokens would double it.
        encoded = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        sample = self.params.temperature > 0
        with torch.inference_mode():
            output = self.model.generate(
                **encoded,
                do_sample=sample,
                temperature=self.params.temperature if sample else None,
                top_p=self.params.top_p if sample else None,
                max_new_tokens=self.params.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = output[:, encoded["input_ids"].shape[1]:]
        return [reply.strip() for reply in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]

    def ask(self, messages: list[str]) -> list[str]:
        """Replies to ``messages`` in batches of params.batch_size (halved on CUDA out-of-memory)."""
        return run_halving_on_oom(messages, self.params.batch_size, self._generate, "prompts llm")

    def extract(self, texts: list[str]) -> list[list[str] | None]:
        """Items per text from the extraction prompt; None where every attempt was unusable."""
        results: list[list[str] | None] = [None] * len(texts)
        pending = list(range(len(texts)))
        for attempt in range(self.params.retries + 1):
            if not pending:
                break
            replies = self.ask([EXTRACTION_PROMPT.format(text=texts[i]) for i in pending])
            still_pending = []
            for i, reply in zip(pending, replies):
                items = usable_items(parse_reply(reply))
                if items:
                    results[i] = items
                else:
                    still_pending.append(i)
            if still_pending:
                log.info("llm attempt %d: %d of %d replies unusable", attempt + 1, len(still_pending), len(pending))
            pending = still_pending
        return results

    def propose(self, count: int) -> list[list[str]]:
        """Up to ``count`` outfits proposed by the LLM (usable replies only; the caller de-duplicates)."""
        replies = self.ask([PROPOSAL_PROMPT] * count) if count else []
        proposals = [usable_items(parse_reply(reply)) for reply in replies]
        return [items for items in proposals if items]
