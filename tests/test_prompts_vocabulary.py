"""CPU prompt writer and the prompt table: items from description text, one row per training outfit."""
from __future__ import annotations

import pandas as pd
import pytest

from dlcr_assets.errors import StepInputError
from dlcr_assets.params.prompts import PromptsParams
from dlcr_assets.prompts import PROMPT_COLUMNS, build_prompt_table, outfit_texts
from dlcr_assets.prompts.vocabulary import extract_items
from dlcr_reid.io import save_table


def test_extracts_colour_pattern_garment_items():
    text = "The person is wearing a dark red coat over a white top, black trousers, brown shoes."
    assert extract_items(text) == ["dark red coat", "white top", "black trousers", "brown shoes"]
    text = "A man in a red and white striped T-shirt, blue jeans and a pair of gray sneakers; plaid skirt."
    assert extract_items(text) == ["white striped t-shirt", "blue jeans", "checked skirt", "grey sneakers"]
    assert extract_items("She wears dark blue pants with a jacket.") == ["jacket", "navy pants"]
    assert extract_items("No clothing is visible.") == []


def test_repeated_mentions_keep_the_majority_colour():
    text = "a grey jacket and jeans. a grey jacket. The person wears a black jacket and blue jeans."
    assert extract_items(text) == ["grey jacket", "blue jeans"]


def _descriptions(answers: dict[tuple[int, int], list[str]]) -> pd.DataFrame:
    rows = [{"path": f"/d/{pid}_{cid}_{n}.png", "pid": pid, "clothes_id": cid, "answer": a, "backend": "parsing",
             "model_id": ""} for (pid, cid), texts in answers.items() for n, a in enumerate(texts)]
    return pd.DataFrame(rows)


def test_prompt_table_has_one_row_per_outfit_plus_novel_rows(tmp_path):
    descriptions = _descriptions({
        (0, 0): ["The person is wearing a dark red coat over a white top, black trousers, brown shoes."] * 2,
        (0, 1): ["The person is wearing a blue top, khaki trousers, black shoes."],
        (3, 2): ["a green dress and white sneakers"],
    })
    table = build_prompt_table(descriptions, PromptsParams())
    assert list(table.columns) == PROMPT_COLUMNS
    dataset = table[table.source == "dataset"]
    assert dataset["outfit_key"].tolist() == ["0_0", "0_1", "3_2"]
    assert dataset["prompt"].iloc[0] == "dark red coat, white top, black trousers, brown shoes"
    assert dataset["items"].iloc[2] == ["green dress", "white sneakers"]
    assert (dataset["backend"] == "vocabulary").all()
    novel = table[table.source == "novel"]
    assert len(novel) == 9 * 3  # default novel_factor 9: the pool is 10x the dataset outfits
    assert novel["outfit_key"].tolist() == [f"novel_{n}" for n in range(27)]
    assert novel["pid"].isna().all() and novel["clothes_id"].isna().all()
    assert str(table["pid"].dtype) == "Int64" and str(table["clothes_id"].dtype) == "Int64"
    assert (novel["prompt"] == novel["items"].map(", ".join)).all()
    saved = pd.read_parquet(save_table(table, tmp_path / "prompts" / "toy.parquet"))
    assert list(saved["items"].iloc[0]) == table["items"].iloc[0] and saved["pid"].isna().sum() == 27


def test_novel_outfits_count_overrides_the_factor_and_zero_disables():
    descriptions = _descriptions({(0, 0): ["a red coat, blue jeans, black boots"]})
    assert (build_prompt_table(descriptions, PromptsParams(novel_outfits=5)).source == "novel").sum() == 5
    assert len(build_prompt_table(descriptions, PromptsParams(novel_factor=0))) == 1


def test_only_the_first_max_words_of_an_outfit_are_read():
    descriptions = _descriptions({(0, 0): ["a red coat", "and a lot of words " * 10 + "green trousers"]})
    assert outfit_texts(descriptions, 3)["text"].tolist() == ["a red coat"]
    table = build_prompt_table(descriptions, PromptsParams(max_words=3, novel_factor=0))
    assert table["items"].iloc[0] == ["red coat"]


def test_empty_descriptions_and_itemless_outfits():
    with pytest.raises(StepInputError, match="empty"):
        build_prompt_table(_descriptions({}).reindex(columns=["path", "pid", "clothes_id", "answer"]), PromptsParams())
    with pytest.raises(StepInputError, match="answer"):
        build_prompt_table(pd.DataFrame({"pid": [0], "clothes_id": [0]}), PromptsParams())
    with pytest.raises(StepInputError, match="no clothing item"):
        build_prompt_table(_descriptions({(0, 0): ["No clothing is visible."]}), PromptsParams())
    # An outfit with nothing recognisable is left out, the others stay.
    table = build_prompt_table(_descriptions({(0, 0): ["blurry"], (1, 0): ["white shirt"]}), PromptsParams(novel_factor=0))
    assert table["outfit_key"].tolist() == ["1_0"]


def test_items_are_ordered_outer_layer_first_then_top_to_bottom():
    text = "The person is wearing a black coat, grey shoes. Another view: a black coat over an orange top, jeans."
    assert extract_items(text) == ["black coat", "orange top", "jeans", "grey shoes"]
