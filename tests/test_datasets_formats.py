"""Each dataset format on a tiny tree in its real layout: ids, cameras, outfits, splits (SPEC §2)."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from dlcr_reid.datasets import FORMATS, detect_format, index_dataset, register_format, summary_text
from dlcr_reid.datasets.registry import DETECTORS, LAYOUTS
from dlcr_reid.datasets.table import TEST_SPLITS, VAL_SPLITS
from dlcr_reid.errors import DatasetLayoutError
from dlcr_reid.params import DatasetSpec


def _image_bytes(suffix: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 8), (120, 30, 200)).save(buffer, format="PNG" if suffix == ".png" else "JPEG")
    return buffer.getvalue()


IMAGE = {".png": _image_bytes(".png"), ".jpg": _image_bytes(".jpg")}


def put(path: Path) -> Path:
    """A tiny real image at ``path`` (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(IMAGE[path.suffix])
    return path


def make_ltcc(base: Path, folder: str = "LTCC_ReID") -> Path:
    root = base / folder
    for name in ["001_1_c1_000001.png", "001_1_c2_000002.png", "001_2_c3_000003.png", "003_1_c1_000004.png"]:
        put(root / "train" / name)
    for name in ["010_2_c5_000010.png", "011_1_c1_000011.png"]:
        put(root / "query" / name)
    for name in ["010_1_c2_000020.png", "010_2_c7_000021.png", "011_2_c12_000022.png"]:
        put(root / "test" / name)
    (root / "train" / "readme.txt").write_text("not an image")
    put(root / "test" / "bad_name.png")
    return root


def make_prcc(base: Path) -> Path:
    rgb = base / "prcc" / "rgb"
    for pid in ["001", "002"]:
        for cam in "ABC":
            put(rgb / "train" / pid / f"{cam}_cropped_rgb{pid}.jpg")
        put(rgb / "val" / pid / f"A_cropped_rgb9{pid}.jpg")
        put(rgb / "val" / pid / f"C_cropped_rgb9{pid}.jpg")
    for cam in "ABC":
        for pid in ["150", "151"]:
            put(rgb / "test" / cam / pid / f"cropped_rgb{pid}{cam}.jpg")
    return base / "prcc"


def make_vcclothes(base: Path) -> Path:
    root = base / "VC-Clothes"
    for name in ["0001-01-01-01.jpg", "0001-04-02-02.jpg", "0002-02-01-01.jpg"]:
        put(root / "train" / name)
    for cam in (1, 2, 3, 4):
        put(root / "query" / f"0100-{cam:02d}-01-01.jpg")
        put(root / "gallery" / f"0100-{cam:02d}-{1 if cam < 3 else 2:02d}-02.jpg")
    return root


def make_ccvid(base: Path) -> Path:
    root = base / "CCVID"
    tracklets = {
        "train": [("session1/001_01", "1", "u1_l1"), ("session3/001_02", "1", "u2_l1"), ("session1/004_03", "4", "u1_l1")],
        "query": [("session1/101_01", "101", "u1_l1")],
        "gallery": [("session3/101_05", "101", "u3_l2")],
    }
    for split, rows in tracklets.items():
        lines = []
        for tracklet, pid, clothes in rows:
            for frame in ["00003.jpg", "00001.jpg", "00002.jpg"]:
                put(root / tracklet / frame)
            lines.append(f"{tracklet}\t{pid}\t{clothes}")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    with (root / "train.txt").open("a") as handle:
        handle.write("a broken line\n")
    return root


def make_last(base: Path) -> Path:
    root = base / "last"
    for name in ["000001_0_100_02.jpg", "000001_0_200_05.jpg", "000007_3_9_01.jpg"]:
        put(root / "train" / name[:6] / name)
    put(root / "val" / "query" / "000050_0_1_01.jpg")
    put(root / "val" / "gallery" / "000050" / "000050_1_2_01.jpg")
    put(root / "test" / "query" / "005000_0_1_01.jpg")
    put(root / "test" / "gallery" / "005000" / "005000_1_4_01.jpg")
    put(root / "test" / "gallery" / "005000" / "005000_1_5_03.jpg")
    put(root / "test" / "gallery" / "distractors" / "009999_0_7_01.jpg")
    return root


def make_deepchange(base: Path) -> Path:
    root = base / "DeepChangeDataset"
    lists = {
        "train-set": [("P0001_C01_D20200601_0001.jpg", 1), ("P0001_C03_D20200722_0002.jpg", 2),
                      ("P0002_C01_D20200601_0003.jpg", 3)],
        "test-set-query": [("P0500_C02_D20201111_0001.jpg", 10)],
        "test-set-gallery": [("P0500_C02_D20201111_0002.jpg", 11), ("P0500_C05_D20210105_0003.jpg", 12)],
        "val-set-query": [("P0400_C02_D20201111_0001.jpg", 5)],
        "val-set-gallery": [("P0400_C02_D20201111_0002.jpg", 6)],
    }
    for folder, rows in lists.items():
        for name, _ in rows:
            put(root / folder / name)
        (root / f"{folder}-bbox.txt").write_text("".join(f"{name},{tracklet}\n" for name, tracklet in rows))
    return root


def make_synthetic(base: Path) -> Path:
    root = make_ltcc(base, folder="synthetic")
    for split in ["train", "query", "test"]:
        for image in (root / split).glob("*_c*.png"):
            if image.name != "003_1_c1_000004.png":  # one missing map -> null parsing_path
                put(root / "parsing" / split / image.name)
    return root


def index(fmt: str, root: Path, **options) -> pd.DataFrame:
    return index_dataset(f"{fmt}-test", DatasetSpec(format=fmt, root=root, options=options))


def by_name(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(name=table["path"].map(lambda p: Path(p).name)).set_index("name")


def test_ltcc_labels_and_reid_code_trap(tmp_path):
    # A naive regex over the full path would read pid 99 / outfit 9 / cam 9 from this folder.
    base = tmp_path / "exp_99_9_c9" / "reid_code"
    make_ltcc(base)
    table = index("ltcc", base)
    assert list(table.columns[:8]) == ["path", "pid", "camid", "clothes_id", "split", "dataset", "pid_raw", "clothes_raw"]
    rows = by_name(table)
    train = rows[rows["split"] == "train"]
    assert train["pid"].to_dict() == {"001_1_c1_000001.png": 0, "001_1_c2_000002.png": 0,
                                      "001_2_c3_000003.png": 0, "003_1_c1_000004.png": 1}
    assert train["clothes_id"].tolist() == [0, 0, 1, 2]
    assert train["camid"].tolist() == [0, 1, 2, 0]
    test = rows[rows["split"] != "train"]
    assert set(test["split"]) == {"query", "gallery"}
    assert rows.loc["011_2_c12_000022.png", "split"] == "gallery"
    assert test["pid"].to_dict() == {"010_2_c5_000010.png": 10, "011_1_c1_000011.png": 11,
                                     "010_1_c2_000020.png": 10, "010_2_c7_000021.png": 10, "011_2_c12_000022.png": 11}
    assert rows.loc["011_2_c12_000022.png", "camid"] == 11
    # test outfits relabelled over query + gallery together: 010_1, 010_2, 011_1, 011_2
    assert rows.loc["010_2_c5_000010.png", "clothes_id"] == rows.loc["010_2_c7_000021.png", "clothes_id"] == 1
    assert sorted(test["clothes_id"].unique()) == [0, 1, 2, 3]
    assert 99 not in set(table["pid"])
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in table["path"])
    unmatched = table.attrs["unmatched"]
    assert sorted(Path(p).name for p in unmatched) == ["bad_name.png", "readme.txt"]
    text = summary_text(table)
    assert "unmatched (files or list lines no naming rule matched): 2" in text and "bad_name.png" in text


def test_prcc_three_test_cameras_and_outfits(tmp_path):
    make_prcc(tmp_path)
    table = index("prcc", tmp_path)
    train = table[table["split"] == "train"]
    assert len(train) == 6  # val identities never train
    letters = train["path"].map(lambda p: Path(p).name[0])
    assert (train["camid"] == letters.map({"A": 0, "B": 1, "C": 2})).all()
    # outfit = pid for A/B, pid+"C" for C: 001, 001C, 002, 002C -> 0..3
    assert sorted(zip(train["pid"], letters, train["clothes_id"])) == [
        (0, "A", 0), (0, "B", 0), (0, "C", 1), (1, "A", 2), (1, "B", 2), (1, "C", 3)]
    test = table[table["split"].isin(TEST_SPLITS)]
    assert test.groupby("split")["camid"].unique().map(list).to_dict() == {
        "gallery": [0], "query_same": [1], "query_diff": [2]}
    # rgb/val is the validation split: camera A the gallery, B and C the queries, labelled over itself
    val = by_name(table[table["split"].isin(VAL_SPLITS)])
    assert val["split"].to_dict() == {"A_cropped_rgb9001.jpg": "val_gallery", "C_cropped_rgb9001.jpg": "val_query",
                                      "A_cropped_rgb9002.jpg": "val_gallery", "C_cropped_rgb9002.jpg": "val_query"}
    assert set(val["pid"]) == {1, 2} and val["clothes_id"].nunique() == 4
    assert set(test["pid"]) == {150, 151}
    for pid in (150, 151):
        person = test[test["pid"] == pid].set_index("split")["clothes_id"]
        assert person["gallery"] == person["query_same"] != person["query_diff"]
    assert table.attrs["unmatched"] == []
    # the dataset folder itself and its rgb folder work as roots too
    assert len(index("prcc", tmp_path / "prcc")) == len(index("prcc", tmp_path / "prcc" / "rgb")) == len(table)
    # the train and test rows (labels included) are the same without the val folder
    shutil.rmtree(tmp_path / "prcc" / "rgb" / "val")
    pd.testing.assert_frame_equal(index("prcc", tmp_path), table[~table["split"].isin(VAL_SPLITS)].reset_index(drop=True))


def test_vcclothes_modes(tmp_path):
    root = make_vcclothes(tmp_path)
    full = index("vcclothes", root)
    assert len(full) == 11
    rows = by_name(full)
    assert rows.loc["0001-04-02-02.jpg", "camid"] == 3
    assert rows.loc["0001-01-01-01.jpg", "clothes_id"] == 0 and rows.loc["0001-04-02-02.jpg", "clothes_id"] == 1
    for mode, cameras in {"sc": {1, 2}, "cc": {2, 3}}.items():  # raw cameras 2,3 / 3,4 -> camid - 1
        table = index("vcclothes", tmp_path, mode=mode)
        test = table[table["split"] != "train"]
        assert set(test["camid"]) == cameras
        assert (table["split"] == "train").sum() == 3  # training rows are never filtered
        assert table.attrs["filtered"] == 4
    with pytest.raises(ValueError, match="options.mode"):
        DatasetSpec(format="vcclothes", root=root, options={"mode": "xx"})
    with pytest.raises(ValueError, match="takes no options"):
        DatasetSpec(format="ltcc", root=root, options={"mode": "cc"})


def test_ccvid_tracklets_frames_and_session3_offset(tmp_path):
    root = make_ccvid(tmp_path)
    table = index("ccvid", tmp_path)
    assert {"tracklet", "frames", "num_frames"} <= set(table.columns)
    rows = table.set_index("tracklet")
    assert rows.loc["session1/001_01", "camid"] == 1
    assert rows.loc["session3/001_02", "camid"] == 2 + 12
    assert rows.loc["session3/101_05", "camid"] == 5 + 12
    frames = rows.loc["session1/001_01", "frames"]
    assert [Path(f).name for f in frames] == ["00001.jpg", "00002.jpg", "00003.jpg"]
    assert (table["num_frames"] == 3).all()
    assert rows.loc["session1/004_03", "pid"] == 1 and rows.loc["session1/001_01", "pid"] == 0
    assert rows.loc["session1/101_01", "pid"] == 101 and rows.loc["session1/101_01", "split"] == "query"
    assert rows.loc["session1/101_01", "clothes_id"] != rows.loc["session3/101_05", "clothes_id"]
    assert rows.loc["session1/001_01", "path"] == str(root / "session1" / "001_01")
    assert len(table.attrs["unmatched"]) == 1 and "a broken line" in table.attrs["unmatched"][0]


def test_last_gallery_subfolders_and_per_image_cameras(tmp_path):
    make_last(tmp_path)
    table = index("last", tmp_path)
    rows = by_name(table)
    assert (rows["split"] == "train").sum() == 3 and (rows["split"] == "query").sum() == 1
    gallery = rows[rows["split"] == "gallery"]
    assert sorted(gallery.index) == ["005000_1_4_01.jpg", "005000_1_5_03.jpg", "009999_0_7_01.jpg"]
    test = table[table["split"].isin(TEST_SPLITS)]
    assert test["camid"].is_unique  # every test image is its own camera
    val = by_name(table[table["split"].isin(VAL_SPLITS)])
    assert val["split"].to_dict() == {"000050_0_1_01.jpg": "val_query", "000050_1_2_01.jpg": "val_gallery"}
    assert table["camid"][table["split"] != "train"].is_unique  # val images are their own cameras too
    assert set(test["pid"]) == {5000, 9999}
    # outfit = first + last field
    assert rows.loc["000001_0_100_02.jpg", "clothes_raw"] == "000001_02"
    assert rows.loc["005000_0_1_01.jpg", "clothes_id"] == rows.loc["005000_1_4_01.jpg", "clothes_id"]
    assert rows.loc["005000_1_5_03.jpg", "clothes_id"] != rows.loc["005000_1_4_01.jpg", "clothes_id"]
    assert sorted(table.loc[table["split"] == "train", "pid"]) == [0, 0, 1]


def test_deepchange_pid_tokens_and_tracklet_cameras(tmp_path):
    make_deepchange(tmp_path)
    table = index("deepchange", tmp_path)
    rows = by_name(table)
    assert len(table) == 8  # 6 train/test rows + the val lists
    assert rows.loc["P0002_C01_D20200601_0003.jpg", "pid"] == 1
    assert rows.loc["P0500_C02_D20201111_0001.jpg", "pid"] == 500
    assert rows.loc["P0500_C05_D20210105_0003.jpg", "camid"] == 12  # tracklet id plays the camera
    # outfit = capture day: same day same outfit
    assert rows.loc["P0500_C02_D20201111_0001.jpg", "clothes_id"] == rows.loc["P0500_C02_D20201111_0002.jpg", "clothes_id"]
    assert rows.loc["P0500_C05_D20210105_0003.jpg", "clothes_id"] != rows.loc["P0500_C02_D20201111_0002.jpg", "clothes_id"]
    assert set(table["split"]) == {"train", "query", "gallery", "val_query", "val_gallery"}
    assert rows.loc["P0400_C02_D20201111_0001.jpg", "split"] == "val_query"
    assert rows.loc["P0400_C02_D20201111_0002.jpg", "camid"] == 6


def test_synthetic_is_ltcc_plus_parsing_paths(tmp_path):
    root = make_synthetic(tmp_path)
    table = index("synthetic", tmp_path)
    ltcc_table = index("ltcc", root)
    assert table[ltcc_table.columns[:8].drop("dataset")].equals(ltcc_table[ltcc_table.columns[:8].drop("dataset")])
    rows = by_name(table)
    assert rows.loc["003_1_c1_000004.png", "parsing_path"] is None
    path = rows.loc["010_2_c5_000010.png", "parsing_path"]
    assert path == str(root / "parsing" / "query" / "010_2_c5_000010.png") and Path(path).is_file()


@pytest.mark.parametrize("fmt, make", [
    ("ltcc", make_ltcc), ("prcc", make_prcc), ("vcclothes", make_vcclothes), ("ccvid", make_ccvid),
    ("last", make_last), ("deepchange", make_deepchange), ("synthetic", make_synthetic),
])
def test_detect_format_on_folder_and_parent(tmp_path, fmt, make):
    dataset_dir = make(tmp_path)
    assert detect_format(dataset_dir) == fmt
    assert detect_format(tmp_path) == fmt


def test_detect_format_rejects_unknown_layouts(tmp_path):
    put(tmp_path / "pictures" / "holiday.jpg")
    with pytest.raises(DatasetLayoutError, match="matches no known dataset layout.*LTCC_ReID"):
        detect_format(tmp_path)
    with pytest.raises(DatasetLayoutError, match="not a folder"):
        detect_format(tmp_path / "missing")


def test_register_user_format(tmp_path):
    for name in ["7-a.jpg", "7-b.jpg", "8-a.jpg"]:
        put(tmp_path / "flat" / "tr" / name)
    put(tmp_path / "flat" / "te" / "9-a.jpg")

    def load_flat(root, options):
        rows = [{"path": str(p), "split": "train" if p.parent.name == "tr" else "gallery",
                 "pid_raw": p.stem.split("-")[0], "clothes_raw": p.stem, "camid": 0}
                for p in sorted(Path(root).glob("*/*.jpg"))]
        return pd.DataFrame(rows)

    register_format("flat", load_flat, detect=lambda root: (Path(root) / "tr").is_dir(), layout="flat/{tr,te}/<pid>-<outfit>.jpg")
    try:
        assert detect_format(tmp_path / "flat") == "flat"
        table = index_dataset("mine", DatasetSpec(format="flat", root=tmp_path / "flat"))
        assert table["pid"].tolist() == [0, 0, 1, 9] and set(table["dataset"]) == {"mine"}
        with pytest.raises(ValueError, match="already registered"):
            register_format("flat", load_flat)
    finally:
        FORMATS.pop("flat"), DETECTORS.pop("flat"), LAYOUTS.pop("flat")


@pytest.mark.parametrize("fmt, layout_hint", [
    ("ltcc", "LTCC_ReID/{train,query,test}"), ("prcc", "prcc/rgb/train"), ("vcclothes", "VC-Clothes/{train,query,gallery}"),
    ("ccvid", "CCVID/{train,query,gallery}.txt"), ("last", "last/train/<pid>"), ("deepchange", "DeepChangeDataset/"),
    ("synthetic", "parsing"),
])
def test_missing_root_names_the_layout(tmp_path, fmt, layout_hint):
    with pytest.raises(DatasetLayoutError) as error:
        index(fmt, tmp_path / "nowhere")
    assert layout_hint in str(error.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError) as error:
        index(fmt, tmp_path / "empty")
    assert layout_hint in str(error.value)


def test_missing_split_folder_names_it(tmp_path):
    root = make_ltcc(tmp_path)
    for image in (root / "query").iterdir():
        image.unlink()
    (root / "query").rmdir()
    with pytest.raises(DatasetLayoutError, match=r"lacks \['query'\].*LTCC_ReID/\{train,query,test\}"):
        index("ltcc", tmp_path)
    make_prcc(tmp_path)
    for image in (tmp_path / "prcc/rgb/test/C").rglob("*.jpg"):
        image.unlink()
    for folder in sorted((tmp_path / "prcc/rgb/test/C").rglob("*"), reverse=True) + [tmp_path / "prcc/rgb/test/C"]:
        folder.rmdir()
    with pytest.raises(DatasetLayoutError, match="test/C is missing"):
        index("prcc", tmp_path / "prcc")


def test_unsafe_dataset_names_are_rejected(tmp_path):
    make_ltcc(tmp_path)
    spec = DatasetSpec(format="ltcc", root=tmp_path)
    for bad in ["LTCC", "my data", "../x", ""]:
        with pytest.raises(ValueError, match=r"\[a-z0-9_-\]\+"):
            index_dataset(bad, spec)
