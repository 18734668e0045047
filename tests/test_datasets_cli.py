"""`dlcr dataset-index` and `dlcr check-dataset` on small real-layout trees, corrupt images included."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from PIL import Image
from typer.testing import CliRunner

from dlcr_assets.cli import app
from dlcr_reid.datasets import check_dataset, index_dataset
from dlcr_reid.params import DatasetSpec

runner = CliRunner()


def make_tree(root: Path) -> Path:
    """LTCC layout: 2 train ids, 2 test ids each seen in query and gallery; one stray text file."""
    names = {
        "train": ["001_1_c1_0001.png", "001_2_c2_0002.png", "002_1_c1_0003.png"],
        "query": ["010_1_c1_0010.png", "011_1_c2_0011.png"],
        "test": ["010_2_c3_0020.png", "011_1_c4_0021.png", "011_2_c4_0022.png"],
    }
    for split, files in names.items():
        (root / split).mkdir(parents=True)
        for index, name in enumerate(files):
            size = (64, 128) if index else (32, 64)
            Image.new("RGB", size, (10 * index, 90, 200)).save(root / split / name)
    (root / "train" / "notes.txt").write_text("stray file")
    return root


def write_params(tmp_path: Path, root: Path) -> Path:
    params = tmp_path / "params.yaml"
    params.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"datasets:\n  small:\n    format: ltcc\n    root: {root}\n"
    )
    return params


def test_index_writes_table_and_prints_summary(tmp_path):
    root = make_tree(tmp_path / "reid_code" / "LTCC_ReID")
    params = write_params(tmp_path, root)
    result = runner.invoke(app, ["dataset-index", "--dataset", "small", "--params", str(params)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "data" / "dataset_index" / "small.parquet"
    table = pd.read_parquet(out)
    assert len(table) == 8 and set(table["dataset"]) == {"small"}
    assert table["pid"].dtype == "int64" and table["path"].map(lambda p: Path(p).is_absolute()).all()
    assert "ids" in result.output and "cameras" in result.output and "outfits" in result.output
    assert "unmatched (files or list lines no naming rule matched): 1" in result.output and "notes.txt" in result.output
    assert not list(out.parent.glob(".*tmp"))  # atomic write leaves no temp file

    # --root with a detected format and an explicit name
    result = runner.invoke(app, ["dataset-index", "--root", str(root.parent), "--name", "adhoc", "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(tmp_path / "data" / "dataset_index" / "adhoc.parquet")["path"].tolist() == table["path"].tolist()


def test_index_rejects_unsafe_names(tmp_path):
    root = make_tree(tmp_path / "LTCC_ReID")
    params = write_params(tmp_path, root)
    result = runner.invoke(app, ["dataset-index", "--root", str(root), "--name", "My Data", "--params", str(params)])
    assert result.exit_code == 2
    assert "[a-z0-9_-]+" in result.output


def test_check_dataset_passes_on_a_clean_tree(tmp_path):
    root = make_tree(tmp_path / "LTCC_ReID")
    params = write_params(tmp_path, root)
    result = runner.invoke(app, ["check-dataset", "--dataset", "small", "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "min 32x64, max 64x128, most common 64x128" in result.output
    assert "images decoded: 8/8" in result.output


def test_check_dataset_reports_corrupt_and_truncated_images(tmp_path):
    root = make_tree(tmp_path / "LTCC_ReID")
    truncated = root / "test" / "011_2_c4_0022.png"
    Image.new("RGB", (64, 128)).save(truncated)  # then cut it in half
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    garbage = root / "query" / "011_1_c2_0011.png"
    garbage.write_bytes(b"this is not a png")
    params = write_params(tmp_path, root)
    result = runner.invoke(app, ["check-dataset", "--dataset", "small", "--params", str(params)])
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output
    assert str(truncated) in result.output and str(garbage) in result.output
    report = check_dataset(index_dataset("small", DatasetSpec(format="ltcc", root=root)), progress=False)
    assert sorted(report.corrupt) == sorted([str(truncated), str(garbage)])


def test_check_dataset_flags_query_ids_without_gallery_and_bad_names(tmp_path):
    root = make_tree(tmp_path / "LTCC_ReID")
    Image.new("RGB", (64, 128)).save(root / "query" / "077_1_c1_0099.png")
    Image.new("RGB", (64, 128)).save(root / "test" / "unnamed.png")
    report = check_dataset(index_dataset("small", DatasetSpec(format="ltcc", root=root)), progress=False)
    assert not report.ok
    text = report.to_text()
    assert "1 query id(s) have no gallery image: [77]" in text
    assert "1 image file(s) match no naming rule" in text and "unnamed.png" in text
    assert any("notes.txt" in warning for warning in report.warnings)  # non-images only warn


def test_layout_errors_exit_2_with_one_line(tmp_path):
    (tmp_path / "LTCC_ReID" / "train").mkdir(parents=True)
    params = write_params(tmp_path, tmp_path / "LTCC_ReID")
    code = "from dlcr_assets.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "dataset-index", "--dataset", "small", "--params", str(params)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "LTCC_ReID/{train,query,test}" in done.stderr and "Traceback" not in done.stderr


def test_check_dataset_reports_tracklets_without_frames(tmp_path):
    root = tmp_path / "CCVID"
    for split, tracklet, pid in [("train", "session1/001_01", 1), ("query", "session1/005_02", 5),
                                 ("gallery", "session2/005_03", 5)]:
        (root / split).parent.mkdir(parents=True, exist_ok=True)
        (root / f"{split}.txt").write_text(f"{tracklet} {pid} u1_l1\n")
        if split != "gallery":  # the gallery tracklet's folder is missing
            (root / tracklet).mkdir(parents=True)
            Image.new("RGB", (4, 8)).save(root / tracklet / "00001.jpg")
    table = index_dataset("cc", DatasetSpec(format="ccvid", root=root))
    assert table.set_index("split").loc["gallery", "num_frames"] == 0
    report = check_dataset(table, progress=False)
    assert report.images_checked == 2
    assert any("tracklet(s) have no frames" in error and "005_03" in error for error in report.errors)
