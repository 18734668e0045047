"""LLM prompt writer: reply parsing, retries, vocabulary fallback, through tiny Llamas under the production id."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from dlcr_assets.errors import StepInputError
from dlcr_assets.params.prompts import PromptsParams
from dlcr_assets.prompts import PROMPT_COLUMNS, build_prompt_table, outfit_texts
from dlcr_assets.prompts.llm import EXTRACTION_PROMPT, PROPOSAL_PROMPT, parse_reply, usable_items
from hf_cache import install_in_hf_cache, use_offline_cache
from tiny_text_models import (
    build_parroting_llama,
    build_tiny_llama,
    tiny_model_folder,
)

PRODUCTION_ID = PromptsParams().model_id  # "meta-llama/Llama-2-7b-chat-hf"
PARROT_REPLY = "1. Red coat\n2. Black trousers"


def test_parses_numbered_bulleted_and_comma_replies():
    numbered = "Sure! Here are the clothing items extracted from the text:\n\n1. Black jacket\n2. White T-shirt\n3) Blue jeans"
    assert parse_reply(numbered) == ["black jacket", "white t-shirt", "blue jeans"]
    bulleted = "* **Top:** white shirt\n- navy trousers (slim fit)\n• a pair of brown shoes\n- XL"
    assert parse_reply(bulleted) == ["white shirt", "navy trousers", "brown shoes"]  # "xl" is 2 chars: dropped
    assert parse_reply("The items are: red coat, white top and black trousers.") == ["red coat", "white top", "black trousers"]
    assert parse_reply("grey hoodie; jeans") == ["grey hoodie", "jeans"]
    assert parse_reply("") == []


def test_unusable_replies_yield_no_items():
    assert usable_items(parse_reply("I'm sorry, I cannot help with that.")) == []
    assert usable_items(parse_reply("\x0c.treatr wearing\ufffded\ufffd\x18@")) == []
    assert usable_items(parse_reply("1. red coat\n2. \ufffd\ufffd\ufffd")) == ["red coat"]


def _descriptions() -> pd.DataFrame:
    return pd.DataFrame({
        "path": ["/d/a.png", "/d/b.png", "/d/c.png"], "pid": [0, 0, 1], "clothes_id": [0, 0, 1],
        "answer": ["The person is wearing a dark red coat over a white top, black trousers, brown shoes."] * 2
        + ["a green dress and white sneakers"],
        "backend": "parsing", "model_id": "",
    })


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    return tiny_model_folder("tiny-llama", build_tiny_llama, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def parroting_llama(tmp_path_factory) -> Path:
    # Trained on the very messages the test sends: a tiny model generalises poorly to unseen lengths.
    texts = outfit_texts(_descriptions(), PromptsParams().max_words)["text"]
    prompts = [EXTRACTION_PROMPT.format(text=text) for text in texts] + [PROPOSAL_PROMPT]
    return tiny_model_folder("parroting-llama", lambda folder: build_parroting_llama(folder, PARROT_REPLY, prompts),
                             tmp_path_factory.mktemp("models"))


def test_gibberish_is_retried_then_falls_back_to_the_vocabulary(tiny_llama, tmp_path, monkeypatch, caplog):
    cache = tmp_path / "hf-cache"
    install_in_hf_cache(tiny_llama, cache, PRODUCTION_ID)
    use_offline_cache(monkeypatch, cache)
    params = PromptsParams(backend="llm", max_new_tokens=12, retries=2, novel_outfits=3)
    with caplog.at_level(logging.INFO, logger="dlcr_assets.prompts"):
        table = build_prompt_table(_descriptions(), params, device="cpu")
    attempts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("llm attempt")]
    assert attempts == ["llm attempt 1: 2 of 2 replies unusable", "llm attempt 2: 2 of 2 replies unusable",
                        "llm attempt 3: 2 of 2 replies unusable"]
    assert list(table.columns) == PROMPT_COLUMNS
    dataset = table[table.source == "dataset"]
    assert (dataset["backend"] == "vocabulary").all() and (dataset["model_id"] == "").all()
    assert dataset["items"].iloc[1] == ["green dress", "white sneakers"]
    novel = table[table.source == "novel"]
    assert len(novel) == 3 and (novel["backend"] == "combinatorial").all()


def test_usable_replies_become_items_recorded_as_llm(parroting_llama, tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    install_in_hf_cache(parroting_llama, cache, PRODUCTION_ID)
    use_offline_cache(monkeypatch, cache)
    table = build_prompt_table(_descriptions(), PromptsParams(backend="llm", max_new_tokens=24, novel_outfits=4),
                               device="cpu")
    dataset = table[table.source == "dataset"]
    assert (dataset["backend"] == "llm").all() and (dataset["model_id"] == PRODUCTION_ID).all()
    assert dataset["items"].tolist() == [["red coat", "black trousers"]] * 2
    assert dataset["prompt"].iloc[0] == "red coat, black trousers"
    # Every proposal is the same outfit, already in the dataset: de-duplication leaves it all to the generator.
    novel = table[table.source == "novel"]
    assert len(novel) == 4 and (novel["backend"] == "combinatorial").all()


def test_unloadable_llm_fails_before_any_text_is_processed(tmp_path, monkeypatch):
    use_offline_cache(monkeypatch, tmp_path / "empty-cache")
    with pytest.raises(StepInputError, match="no-such-org/no-such-llm") as error:
        build_prompt_table(_descriptions(), PromptsParams(backend="llm", model_id="no-such-org/no-such-llm"))
    assert "huggingface-cli download no-such-org/no-such-llm" in str(error.value)


def test_plural_garments_count_as_clothing():
    assert usable_items(parse_reply("1. Two black jackets\n2. dresses")) == ["two black jackets", "dresses"]


def test_llm_prompts_resume_without_asking_the_llm_again(parroting_llama, tmp_path, monkeypatch):
    import dlcr_assets.prompts.llm as llm

    cache = tmp_path / "hf-cache"
    install_in_hf_cache(parroting_llama, cache, PRODUCTION_ID)
    use_offline_cache(monkeypatch, cache)
    params = PromptsParams(backend="llm", max_new_tokens=24, novel_outfits=4)
    first = build_prompt_table(_descriptions(), params, device="cpu")
    assert first.attrs["run"] == {"rows": 6, "computed": 6, "skipped": 0, "stale": 0}
    loads = []
    load = llm.LlmPromptWriter.__init__
    monkeypatch.setattr(llm.LlmPromptWriter, "__init__", lambda self, *a, **k: (loads.append(1), load(self, *a, **k))[1])
    same = build_prompt_table(_descriptions(), params, device="cpu", previous=first)
    assert same.attrs["run"] == {"rows": 6, "computed": 0, "skipped": 6, "stale": 0} and loads == []
    assert same.drop(columns="items").equals(first.drop(columns="items"))
    warmer = build_prompt_table(_descriptions(), params.model_copy(update={"temperature": 0.9}), device="cpu",
                                previous=first)
    assert warmer.attrs["run"]["stale"] == 6 and loads == [1]
