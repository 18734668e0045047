"""Descriptions and prompts resume per row: unchanged fingerprints keep their rows, changes redo only theirs."""
from __future__ import annotations

from pathlib import Path

import pytest

from dlcr_assets.descriptions import describe_clothing
from dlcr_assets.params.descriptions import DescriptionsParams
from dlcr_assets.params.prompts import PromptsParams
from dlcr_assets.prompts import build_prompt_table
from dlcr_reid.io import save_table
from tiny_text_models import BLACK, BROWN, build_tiny_llava, draw_person, tiny_model_folder, toy_index


def _run(table) -> dict:
    return table.attrs["run"]


def test_parsing_descriptions_and_vocabulary_prompts_resume_per_row(tmp_path: Path):
    index = toy_index(tmp_path / "toy")
    params = DescriptionsParams()
    first = describe_clothing(index, params)
    assert _run(first) == {"rows": 4, "computed": 4, "skipped": 0, "stale": 0}
    assert first["fingerprint"].notna().all() and first["fingerprint"].nunique() == 2  # two images of each outfit are the same bytes
    saved = save_table(first, tmp_path / "descriptions.parquet")

    again = describe_clothing(index, params, previous=saved)  # the saved table, by path
    assert _run(again) == {"rows": 4, "computed": 0, "skipped": 4, "stale": 0}
    assert again.equals(first)

    changed = describe_clothing(index, params.model_copy(update={"min_garment_pixels": 30}), previous=first)
    assert _run(changed) == {"rows": 4, "computed": 4, "skipped": 0, "stale": 4}

    prompts_params = PromptsParams(novel_factor=2)
    prompts = build_prompt_table(first, prompts_params)
    assert _run(prompts)["stale"] == 0 and prompts["fingerprint"].notna().all()
    assert _run(build_prompt_table(first, prompts_params, previous=prompts))["computed"] == 0

    # one image of outfit 1_1 gets another top: only its description, and only that outfit's prompt, is stale
    row = 2
    draw_person(Path(index.at[row, "path"]), Path(index.at[row, "parsing_path"]), (200, 30, 35), (170, 160, 110), BLACK)
    redone = describe_clothing(index, params, previous=first)
    assert _run(redone) == {"rows": 4, "computed": 1, "skipped": 3, "stale": 1}
    assert (redone["answer"] != first["answer"]).tolist() == [False, False, True, False]
    new_prompts = build_prompt_table(redone, prompts_params, previous=prompts)
    dataset = new_prompts["source"] == "dataset"
    assert _run(new_prompts)["stale"] == 1 and _run(new_prompts)["computed"] == 1
    assert new_prompts.loc[dataset, "fingerprint"].tolist()[0] == prompts.loc[dataset, "fingerprint"].tolist()[0]
    assert new_prompts.loc[dataset, "fingerprint"].tolist()[1] != prompts.loc[dataset, "fingerprint"].tolist()[1]
    novel = new_prompts["source"] == "novel"
    assert new_prompts.loc[novel, "prompt"].tolist() == prompts.loc[prompts["source"] == "novel", "prompt"].tolist()

    # a prompt setting that changes every outfit's text makes every dataset prompt stale
    fewer_words = build_prompt_table(redone, PromptsParams(novel_factor=2, max_words=8), previous=new_prompts)
    assert _run(fewer_words)["stale"] >= 2


def test_an_older_table_without_fingerprints_is_recomputed(tmp_path: Path):
    index = toy_index(tmp_path / "toy")
    old = describe_clothing(index, DescriptionsParams()).drop(columns=["fingerprint"])
    assert _run(describe_clothing(index, DescriptionsParams(), previous=old))["computed"] == 4


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory) -> Path:
    return tiny_model_folder("tiny-llava", build_tiny_llava, tmp_path_factory.mktemp("models"))


def test_vlm_descriptions_resume_without_loading_the_model(tiny_llava, tmp_path: Path, monkeypatch):
    import dlcr_assets.descriptions.vlm as vlm

    index = toy_index(tmp_path / "toy")
    params = DescriptionsParams(backend="vlm", model_id=str(tiny_llava), max_new_tokens=3, temperature=0.0)
    first = describe_clothing(index, params, device="cpu")
    assert _run(first)["computed"] == 4

    loads = []
    load = vlm.VlmDescriber.__init__
    monkeypatch.setattr(vlm.VlmDescriber, "__init__", lambda self, *a, **k: (loads.append(1), load(self, *a, **k))[1])
    same = describe_clothing(index, params, device="cpu", previous=first)
    assert _run(same) == {"rows": 4, "computed": 0, "skipped": 4, "stale": 0} and loads == []  # the model never loads
    assert same["answer"].tolist() == first["answer"].tolist()
    other_question = describe_clothing(index, params.model_copy(update={"question": "What is worn?"}),
                                       device="cpu", previous=first)
    assert _run(other_question)["stale"] == 4 and loads == [1]
    warmer = describe_clothing(index, params.model_copy(update={"temperature": 0.7}), device="cpu", previous=first)
    assert _run(warmer)["stale"] == 4
    draw_person(Path(index.at[0, "path"]), Path(index.at[0, "parsing_path"]), (35, 80, 200), BLACK, BROWN)
    one = describe_clothing(index, params, device="cpu", previous=first)
    assert _run(one) == {"rows": 4, "computed": 1, "skipped": 3, "stale": 1}
