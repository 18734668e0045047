"""The clothing prompt table: one prompt per training outfit, plus novel outfits (SPEC §1.2).

Prompts are the outfit's items joined by ", " ("red coat, white t-shirt, navy trousers, black
shoes"): diffusion text encoders read the commas as item boundaries. The original DLCR code joins
the items with spaces and its released data stores them joined by "|"; ``items`` keeps the list,
so either form can be rebuilt.

Novel rows (``source == "novel"``) are this project's addition: ``params.novel_factor`` x the
number of dataset outfits (default 9, so the pool holds 10x the dataset's outfits, the paper's
diversity claim), or exactly ``params.novel_outfits`` when set.
"""
from __future__ import annotations

import logging

import pandas as pd

from dlcr_assets.errors import GenerationInputError
from dlcr_assets.params.prompts import PromptsParams
from dlcr_assets.prompts.novel import generate_novel_outfits, outfit_signature
from dlcr_assets.prompts.vocabulary import extract_items

log = logging.getLogger(__name__)

PROMPT_COLUMNS = ["outfit_key", "pid", "clothes_id", "items", "prompt", "source", "backend", "model_id"]
_DESCRIPTION_COLUMNS = ["pid", "clothes_id", "answer"]
COMBINATORIAL_BACKEND = "combinatorial"


def outfit_texts(descriptions: pd.DataFrame, max_words: int) -> pd.DataFrame:
    """One row per (pid, clothes_id): the outfit's answers joined in path order, first ``max_words`` words."""
    ordered = descriptions.sort_values(["pid", "clothes_id", "path"] if "path" in descriptions else ["pid", "clothes_id"])
    grouped = ordered.groupby(["pid", "clothes_id"], sort=True)["answer"]
    joined = grouped.apply(lambda answers: " ".join(" ".join(str(a) for a in answers).split()[:max_words]))
    return joined.rename("text").reset_index()


def _check_descriptions(descriptions: pd.DataFrame) -> None:
    missing = [column for column in _DESCRIPTION_COLUMNS if column not in descriptions.columns]
    if missing:
        raise GenerationInputError(
            f"descriptions table lacks column(s) {missing}; expected {_DESCRIPTION_COLUMNS} (run `dlcr describe`)"
        )
    if descriptions.empty:
        raise GenerationInputError(
            "descriptions table is empty: no training images were described, so there is no outfit to "
            "build prompts from (check the index's train split and rerun `dlcr describe`)"
        )


def _row(key: str, pid, clothes_id, items: list[str], source: str, backend: str, model_id: str) -> dict:
    return {
        "outfit_key": key, "pid": pid, "clothes_id": clothes_id, "items": list(items),
        "prompt": ", ".join(items), "source": source, "backend": backend, "model_id": model_id,
    }


def build_prompt_table(descriptions: pd.DataFrame, params: PromptsParams, device: str = "auto") -> pd.DataFrame:
    """The prompt table (columns PROMPT_COLUMNS) from the descriptions of the training images."""
    _check_descriptions(descriptions)
    writer = None
    if params.backend == "llm":
        from dlcr_assets.prompts.llm import LlmPromptWriter

        writer = LlmPromptWriter(params, device)  # loads (or fails) before any text is processed
    outfits = outfit_texts(descriptions, params.max_words)
    texts = outfits["text"].tolist()
    llm_items = writer.extract(texts) if writer else [None] * len(texts)

    rows = []
    for outfit, from_llm in zip(outfits.itertuples(index=False), llm_items):
        if from_llm:
            items, backend, model_id = from_llm, "llm", writer.model_id
        else:  # vocabulary backend, or the LLM's fallback
            items, backend, model_id = extract_items(outfit.text), "vocabulary", ""
        if not items:
            log.warning("outfit %s_%s: no clothing item found in its descriptions; left out", outfit.pid, outfit.clothes_id)
            continue
        rows.append(_row(f"{outfit.pid}_{outfit.clothes_id}", int(outfit.pid), int(outfit.clothes_id),
                         items, "dataset", backend, model_id))
    if not rows:
        raise GenerationInputError(
            f"no clothing item found in the descriptions of any of {len(outfits)} outfits; "
            "the prompt pool would be empty (check the describer's answers)"
        )
    if writer is not None and any(r["backend"] == "vocabulary" for r in rows):
        fallbacks = sum(r["backend"] == "vocabulary" for r in rows)
        log.warning("prompts llm: %d of %d outfits fell back to the vocabulary backend", fallbacks, len(rows))

    novel_count = params.novel_outfits if params.novel_outfits is not None else params.novel_factor * len(rows)
    rows.extend(_novel_rows(novel_count, [r["items"] for r in rows], params, writer))
    table = pd.DataFrame(rows, columns=PROMPT_COLUMNS)
    table["pid"] = table["pid"].astype("Int64")
    table["clothes_id"] = table["clothes_id"].astype("Int64")
    return table


def _novel_rows(count: int, dataset_items: list[list[str]], params: PromptsParams, writer) -> list[dict]:
    """Novel outfits: LLM proposals first (llm backend), the combinatorial generator for the rest."""
    seen = {outfit_signature(items) for items in dataset_items}
    chosen: list[tuple[list[str], str, str]] = []
    if writer is not None and count:
        for _attempt in range(params.retries + 1):
            missing = count - len(chosen)
            if missing == 0:
                break
            for items in writer.propose(missing):
                signature = outfit_signature(items)
                if signature not in seen and len(chosen) < count:
                    seen.add(signature)
                    chosen.append((items, "llm", writer.model_id))
    generated = generate_novel_outfits(
        count - len(chosen), existing=[list(s) for s in seen], seed=params.seed,
        distinct_adjacent_colours=params.distinct_adjacent_colours, pattern_probability=params.pattern_probability,
    )
    chosen.extend((items, COMBINATORIAL_BACKEND, "") for items in generated)
    return [_row(f"novel_{n}", None, None, items, "novel", backend, model_id)
            for n, (items, backend, model_id) in enumerate(chosen)]


__all__ = ["PROMPT_COLUMNS", "build_prompt_table", "outfit_texts"]
