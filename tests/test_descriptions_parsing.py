"""CPU describer: garments from the LIP parsing map, colours from the pixels; training split only."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlcr_assets.descriptions import DESCRIPTION_COLUMNS, describe_clothing
from dlcr_assets.descriptions.parsing import compose_answer, describe_image, nearest_colour_name
from dlcr_assets.errors import StepInputError
from dlcr_assets.params.descriptions import DescriptionsParams
from dlcr_assets.garments import COLOURS
from tiny_text_models import BLACK, BROWN, DARK_RED, WHITE, draw_person, toy_index


def test_nearest_colour_names_every_vocabulary_colour_and_shades_of_them():
    for name, rgb in COLOURS.items():
        assert nearest_colour_name(rgb) == name
    assert nearest_colour_name((250, 250, 250)) == "white"
    assert nearest_colour_name((10, 10, 10)) == "black"
    assert nearest_colour_name((25, 35, 100)) == "navy"


def test_hand_drawn_person_is_described_garment_by_garment(tmp_path: Path):
    image, parsing = tmp_path / "p.png", tmp_path / "p_map.png"
    draw_person(image, parsing, top=WHITE, trousers=BLACK, shoes=BROWN, coat=DARK_RED)
    answer = describe_image(image, parsing)
    assert answer == "The person is wearing a dark red coat over a white top, black trousers, brown shoes."


def test_shading_and_a_few_mislabelled_pixels_do_not_change_the_colour(tmp_path: Path):
    image, parsing = tmp_path / "p.png", tmp_path / "p_map.png"
    draw_person(image, parsing, top=(40, 80, 200), trousers=BLACK, shoes=BROWN)
    pixels = np.asarray(Image.open(image)).astype(int)
    pixels[10:30] = np.clip(pixels[10:30] + np.linspace(-15, 15, 32)[None, :, None], 0, 255)  # shading
    pixels[12, 3] = (255, 255, 0)  # an odd pixel the parser put inside the top
    Image.fromarray(pixels.astype(np.uint8)).save(image)
    assert "a blue top" in describe_image(image, parsing)


def test_map_at_another_resolution_is_resized_and_small_regions_are_ignored(tmp_path: Path):
    image, parsing = tmp_path / "p.png", tmp_path / "p_map.png"
    draw_person(image, parsing, top=WHITE, trousers=BLACK, shoes=BROWN)
    labels = np.asarray(Image.open(parsing)).copy()
    labels[0:2, 0:2] = 11  # 4 pixels of "scarf": parser noise, below min_garment_pixels
    Image.fromarray(labels, mode="L").resize((64, 128), Image.NEAREST).save(parsing)
    answer = describe_image(image, parsing, min_pixels=20)
    assert "scarf" not in answer and "a white top" in answer and "black trousers" in answer
    assert compose_answer([]) == "No clothing is visible."
    assert compose_answer([("orange", "dress")]) == "The person is wearing an orange dress."


def test_describe_clothing_parsing_backend_describes_training_images_only(tmp_path: Path):
    index = toy_index(tmp_path)
    table = describe_clothing(index, DescriptionsParams())
    assert list(table.columns) == DESCRIPTION_COLUMNS
    assert len(table) == 4 and set(table["path"]) == set(index.loc[index.split == "train", "path"])
    assert (table["backend"] == "parsing").all() and (table["model_id"] == "").all()
    first = table[table.pid == 0]["answer"].iloc[0]
    assert first == "The person is wearing a dark red coat over a white top, black trousers, brown shoes."
    assert "a blue top, khaki trousers, black shoes" in table[table.pid == 1]["answer"].iloc[0]


def test_missing_parsing_path_names_the_column_and_the_alternatives(tmp_path: Path):
    index = toy_index(tmp_path).drop(columns=["parsing_path"])
    with pytest.raises(StepInputError, match="parsing_path") as error:
        describe_clothing(index, DescriptionsParams())
    assert "vlm" in str(error.value) and "parsing_root" in str(error.value)
    nulls = toy_index(tmp_path)
    nulls.loc[1, "parsing_path"] = None
    with pytest.raises(StepInputError, match="1 of 4"):
        describe_clothing(nulls, DescriptionsParams())


def test_parsing_root_supplies_maps_mirroring_the_image_paths(tmp_path: Path):
    """descriptions.parsing_root follows masks.parsing_root's rule: <root>/<path under the dataset root>.png."""
    index = toy_index(tmp_path / "images")
    for image, parsing in zip(index["path"], index["parsing_path"]):
        target = (tmp_path / "schp" / Path(image).relative_to(tmp_path / "images")).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(parsing, target)
    table = describe_clothing(index.drop(columns=["parsing_path"]), DescriptionsParams(parsing_root=tmp_path / "schp"),
                              dataset_root=tmp_path / "images")
    assert table["answer"].str.contains("trousers").all()
    with pytest.raises(StepInputError, match="parsing_root"):
        describe_clothing(index.drop(columns=["parsing_path"]), DescriptionsParams(parsing_root=tmp_path / "absent"))


def test_the_old_parsing_dir_key_says_where_it_moved(tmp_path: Path):
    from dlcr_assets.params import ParamsError, load_params

    params = tmp_path / "params.yaml"
    params.write_text("descriptions:\n  parsing_dir: /maps\norchestration:\n  regeneration_cron: '0 1 * * *'\n")
    with pytest.raises(ParamsError, match=r"descriptions.parsing_dir has moved: set descriptions.parsing_root"):
        load_params(params)
    params.write_text("orchestration:\n  regeneration_cron: '0 1 * * *'\n")
    with pytest.raises(ParamsError, match=r"orchestration.regeneration_cron has moved: set orchestration.generated_images_cron"):
        load_params(params)


def test_index_without_training_rows_or_columns_is_a_clear_error(tmp_path: Path):
    index = toy_index(tmp_path)
    with pytest.raises(StepInputError, match="split == 'train'"):
        describe_clothing(index[index.split == "query"], DescriptionsParams())
    with pytest.raises(StepInputError, match="clothes_id"):
        describe_clothing(index.drop(columns=["clothes_id"]), DescriptionsParams())
