"""The clothing prompt table: one prompt per training outfit, plus novel outfits (SPEC §1.2).

Prompts are the outfit's items joined by ", " ("red coat, white t-shirt, navy trousers, black
shoes"): diffusion text encoders read the commas as item boundaries. The original DLCR code joins
the items with spaces and its released data stores them joined by "|"; ``items`` keeps the list,
so either form can be rebuilt.

Novel rows (``source == "novel"``) are this project's addition: ``params.novel_factor`` x the
number of dataset outfits (default 9, so the pool holds 10x the dataset's outfits, the paper's
diversity claim), or exactly ``params.novel_outfits`` when set.

Each row records a ``fingerprint``: for an outfit, of the settings and its description rows'
fingerprints and text, so a rerun given the previous table asks the LLM only about changed outfits.
"""
from __future__ import annotations

import logging

import pandas as pd

from dlcr_assets.errors import StepInputError
from dlcr_assets.fingerprint import extend, fingerprint
from dlcr_assets.params.prompts import PromptsParams
from dlcr_assets.prompts.novel import generate_novel_outfits, outfit_signature
from dlcr_assets.prompts.vocabulary import extract_items
from dlcr_assets.reuse import Previous, Reuse

log = logging.getLogger(__name__)

PROMPT_COLUMNS = ["outfit_key", "pid", "clothes_id", "items", "prompt", "source", "backend", "model_id", "fingerprint"]
_DESCRIPTION_COLUMNS = ["pid", "clothes_id", "answer"]
COMBINATORIAL_BACKEND = "combinatorial"
# bump when prompt building changes what it makes of the same descriptions and settings
PROMPTS_FORMAT = "prompts/1"
NOVEL_FORMAT = "novel/1"


def outfit_texts(descriptions: pd.DataFrame, max_words: int) -> pd.DataFrame:
    """One row per (pid, clothes_id): the outfit's answers joined in path order, first ``max_words`` words."""
    ordered = descriptions.sort_values(["pid", "clothes_id", "path"] if "path" in descriptions else ["pid", "clothes_id"])
    grouped = ordered.groupby(["pid", "clothes_id"], sort=True)["answer"]
    joined = grouped.apply(lambda answers: " ".join(" ".join(str(a) for a in answers).split()[:max_words]))
    return joined.rename("text").reset_index()


def _check_descriptions(descriptions: pd.DataFrame) -> None:
    missing = [column for column in _DESCRIPTION_COLUMNS if column not in descriptions.columns]
    if missing:
        raise StepInputError(
            f"descriptions table lacks column(s) {missing}; expected {_DESCRIPTION_COLUMNS} (run `dlcr clothing-descriptions`)"
        )
    if descriptions.empty:
        raise StepInputError(
            "descriptions table is empty: no training images were described, so there is no outfit to "
            "build prompts from (check the index's train split and rerun `dlcr clothing-descriptions`)"
        )


def _row(key: str, pid, clothes_id, items: list[str], source: str, backend: str, model_id: str,
         value: str | None = None) -> dict:
    return {
        "outfit_key": key, "pid": pid, "clothes_id": clothes_id, "items": list(items),
        "prompt": ", ".join(items), "source": source, "backend": backend, "model_id": model_id, "fingerprint": value,
    }


def settings_of(params: PromptsParams, device: str) -> dict:
    """What besides an outfit's descriptions determines its prompt (the LLM's settings, for that backend)."""
    settings = {"format": PROMPTS_FORMAT, "backend": params.backend, "max_words": params.max_words}
    if params.backend == "llm":
        from dlcr_assets.hub import model_revision, resolve_device, resolve_dtype
        from dlcr_assets.prompts.llm import EXTRACTION_PROMPT, PROPOSAL_PROMPT

        settings.update(model_id=params.model_id, revision=model_revision(params.model_id),
                        temperature=params.temperature, top_p=params.top_p, max_new_tokens=params.max_new_tokens,
                        retries=params.retries, seed=params.seed, extraction=EXTRACTION_PROMPT, proposal=PROPOSAL_PROMPT,
                        dtype=str(resolve_dtype(params.dtype, resolve_device(device))).removeprefix("torch."))
    return settings


def _outfit_inputs(descriptions: pd.DataFrame) -> dict[tuple, str]:
    """(pid, clothes_id) -> the fingerprints of the outfit's description rows, in path order."""
    if "fingerprint" not in descriptions.columns:
        return {}
    ordered = descriptions.sort_values(["pid", "clothes_id", "path"] if "path" in descriptions else ["pid", "clothes_id"])
    grouped = ordered.groupby(["pid", "clothes_id"], sort=True)["fingerprint"]
    return {key: " ".join(map(str, values)) for key, values in grouped}


def build_prompt_table(descriptions: pd.DataFrame, params: PromptsParams, device: str = "auto",
                       previous: Previous = None) -> pd.DataFrame:
    """The prompt table (columns PROMPT_COLUMNS) from the descriptions of the training images.

    ``previous`` is the table of an earlier run (or its path): an outfit whose fingerprint (settings
    + its description rows' fingerprints + its joined text) is unchanged keeps its prompt; novel
    outfits are re-derived (cheap), reusing the earlier LLM proposals of the same LLM settings.
    ``table.attrs["run"]`` counts rows, computed, skipped and stale.
    """
    _check_descriptions(descriptions)
    base = fingerprint(settings_of(params, device))
    outfits = outfit_texts(descriptions, params.max_words)
    inputs = _outfit_inputs(descriptions)
    reuse = Reuse(previous, "outfit_key")
    keys = [f"{pid}_{clothes_id}" for pid, clothes_id in zip(outfits["pid"], outfits["clothes_id"])]
    values = [extend(base, inputs.get((pid, clothes_id), ""), text)
              for pid, clothes_id, text in zip(outfits["pid"], outfits["clothes_id"], outfits["text"])]
    kept = [reuse.get(key, value) for key, value in zip(keys, values)]
    todo = [i for i, row in enumerate(kept) if row is None]
    writer = None
    if params.backend == "llm" and todo:
        from dlcr_assets.prompts.llm import LlmPromptWriter

        writer = LlmPromptWriter(params, device)  # loads (or fails) before any text is processed
    texts = outfits["text"].tolist()
    llm_items = dict(zip(todo, writer.extract([texts[i] for i in todo]))) if writer else {}

    rows = []
    for i, outfit in enumerate(outfits.itertuples(index=False)):
        if kept[i] is not None:
            old = kept[i]
            items, backend, model_id = list(old["items"]), old["backend"], old["model_id"]
        elif llm_items.get(i):
            items, backend, model_id = llm_items[i], "llm", writer.model_id
        else:  # vocabulary backend, or the LLM's fallback
            items, backend, model_id = extract_items(outfit.text), "vocabulary", ""
        if not items:
            log.warning("outfit %s_%s: no clothing item found in its descriptions; left out", outfit.pid, outfit.clothes_id)
            continue
        rows.append(_row(keys[i], int(outfit.pid), int(outfit.clothes_id), items, "dataset", backend, model_id, values[i]))
    if not rows:
        raise StepInputError(
            f"no clothing item found in the descriptions of any of {len(outfits)} outfits; "
            "the prompt pool would be empty (check the describer's answers)"
        )
    if writer is not None and any(r["backend"] == "vocabulary" for r in rows):
        fallbacks = sum(r["backend"] == "vocabulary" for r in rows)
        log.warning("prompts llm: %d of %d outfits fell back to the vocabulary backend", fallbacks, len(rows))

    novel_count = params.novel_outfits if params.novel_outfits is not None else params.novel_factor * len(rows)
    novel_base = fingerprint({**settings_of(params, device), "novel": NOVEL_FORMAT, "seed": params.seed,
                              "distinct_adjacent_colours": params.distinct_adjacent_colours,
                              "pattern_probability": params.pattern_probability})
    # novel rows of an earlier run with these settings: that run asked the LLM already, so its usable
    # proposals are reused (de-duplicated again) and the LLM is not asked again
    earlier = [row for row in reuse.old.values() if row.get("source") == "novel"
               and row["fingerprint"] == extend(novel_base, row["backend"], row["prompt"])]
    proposals = [list(row["items"]) for row in earlier if row["backend"] == "llm"]
    proposer = None
    if params.backend == "llm" and novel_count and not earlier:
        from dlcr_assets.prompts.llm import LlmPromptWriter

        proposer = writer or LlmPromptWriter(params, device)
    for row in _novel_rows(novel_count, [r["items"] for r in rows], params, proposer, proposals):
        # a novel row is re-derived every run: its fingerprint is of its settings and its content
        row["fingerprint"] = extend(novel_base, row["backend"], row["prompt"])
        reuse.get(row["outfit_key"], row["fingerprint"])
        rows.append(row)
    table = pd.DataFrame(rows, columns=PROMPT_COLUMNS)
    table["pid"] = table["pid"].astype("Int64")
    table["clothes_id"] = table["clothes_id"].astype("Int64")
    return reuse.report(table, "prompts")


def _novel_rows(count: int, dataset_items: list[list[str]], params: PromptsParams, writer,
                proposals: list[list[str]] = ()) -> list[dict]:
    """Novel outfits: LLM proposals first (earlier runs' ``proposals``, then new ones), combinatorial for the rest."""
    seen = {outfit_signature(items) for items in dataset_items}
    chosen: list[tuple[list[str], str, str]] = []
    model_id = writer.model_id if writer is not None else params.model_id

    def take(candidates) -> None:
        for items in candidates:
            signature = outfit_signature(items)
            if signature not in seen and len(chosen) < count:
                seen.add(signature)
                chosen.append((items, "llm", model_id))

    if params.backend == "llm":
        take(proposals)
    if writer is not None and count:
        for _attempt in range(params.retries + 1):
            missing = count - len(chosen)
            if missing == 0:
                break
            take(writer.propose(missing))
    generated = generate_novel_outfits(
        count - len(chosen), existing=[list(s) for s in seen], seed=params.seed,
        distinct_adjacent_colours=params.distinct_adjacent_colours, pattern_probability=params.pattern_probability,
    )
    chosen.extend((items, COMBINATORIAL_BACKEND, "") for items in generated)
    return [_row(f"novel_{n}", None, None, items, "novel", backend, model_id)
            for n, (items, backend, model_id) in enumerate(chosen)]


__all__ = ["PROMPT_COLUMNS", "build_prompt_table", "outfit_texts"]
