"""VLM describer through a tiny random LLaVA placed in an offline Hugging Face cache under the production id."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dlcr_assets.descriptions import DESCRIPTION_COLUMNS, describe_clothing
from dlcr_assets.descriptions.vlm import VlmDescriber
from dlcr_assets.errors import StepInputError
from dlcr_assets.params.descriptions import DescriptionsParams
from hf_cache import install_in_hf_cache, use_offline_cache
from tiny_text_models import build_tiny_llava, tiny_model_folder, toy_index

PRODUCTION_ID = DescriptionsParams().model_id  # "llava-hf/llava-1.5-7b-hf"


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory) -> Path:
    return tiny_model_folder("tiny-llava", build_tiny_llava, tmp_path_factory.mktemp("models"))


@pytest.fixture
def offline_cache(tiny_llava, tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "hf-cache"
    install_in_hf_cache(tiny_llava, cache, PRODUCTION_ID)
    use_offline_cache(monkeypatch, cache)
    return cache


def test_vlm_backend_loads_the_production_id_and_describes_the_training_split(offline_cache, tmp_path):
    index = toy_index(tmp_path)
    params = DescriptionsParams(backend="vlm", max_new_tokens=4, batch_size=3)  # 4 images: batches of 3 and 1
    table = describe_clothing(index, params, device="cpu")
    assert list(table.columns) == DESCRIPTION_COLUMNS
    assert len(table) == 4 and (index.loc[index.split == "train", "path"].tolist() == table["path"].tolist())
    assert (table["backend"] == "vlm").all() and (table["model_id"] == PRODUCTION_ID).all()
    assert table["answer"].map(lambda a: isinstance(a, str)).all()  # random weights: gibberish text
    assert table["pid"].tolist() == [0, 0, 1, 1]


def test_generation_honours_max_new_tokens(offline_cache, tmp_path):
    index = toy_index(tmp_path)
    describer = VlmDescriber(DescriptionsParams(backend="vlm", max_new_tokens=2), device="cpu")
    longest_token = max(len(describer.tokenizer.decode([i])) for i in range(len(describer.tokenizer)))
    assert describer.prompt.endswith("ASSISTANT:") and "What clothes is the person wearing?" in describer.prompt
    answers = describer.describe(list(index["path"]))
    assert len(answers) == 5
    assert all(len(answer) <= 2 * longest_token for answer in answers)
    # The same answers come back for the same seed: sampling at temperature 0.2 is seeded.
    again = VlmDescriber(DescriptionsParams(backend="vlm", max_new_tokens=2), device="cpu").describe(list(index["path"]))
    assert again == answers


def test_local_folder_loads_as_model_id(tiny_llava, tmp_path):
    table = describe_clothing(toy_index(tmp_path), DescriptionsParams(backend="vlm", model_id=str(tiny_llava),
                                                                       max_new_tokens=1, temperature=0.0))
    assert (table["model_id"] == str(tiny_llava)).all()


def test_unloadable_model_id_fails_before_any_image_is_read(offline_cache, tmp_path):
    # The image files do not exist: reading one first would raise FileNotFoundError instead.
    index = pd.DataFrame({"path": [str(tmp_path / "missing.png")], "pid": [0], "clothes_id": [0], "split": ["train"]})
    with pytest.raises(StepInputError, match="no-such-org/no-such-vlm") as error:
        describe_clothing(index, DescriptionsParams(backend="vlm", model_id="no-such-org/no-such-vlm"))
    message = str(error.value)
    assert "huggingface-cli download no-such-org/no-such-vlm" in message and "HF_HUB_OFFLINE" in message
    with pytest.raises(StepInputError, match="does not exist"):
        describe_clothing(index, DescriptionsParams(backend="vlm", model_id=str(tmp_path / "no-model-here")))


def test_cached_id_with_missing_weights_is_reported_with_the_id(tiny_llava, tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    snapshot = install_in_hf_cache(tiny_llava, cache, PRODUCTION_ID)
    (snapshot / "model.safetensors").unlink()  # an interrupted copy of the cache
    use_offline_cache(monkeypatch, cache)
    index = pd.DataFrame({"path": [str(tmp_path / "missing.png")], "pid": [0], "clothes_id": [0], "split": ["train"]})
    with pytest.raises(StepInputError, match="llava-hf/llava-1.5-7b-hf"):
        describe_clothing(index, DescriptionsParams(backend="vlm"))
