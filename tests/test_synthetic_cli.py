"""`dlcr synthetic-dataset` writes the dataset where --root says, with the seed --seed gives."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

SMALL = {"synthetic": {"train_ids": 2, "test_ids": 2, "outfits_per_id": 2, "cameras": 3, "gallery_outfits": 1,
                       "train_images_per_camera": 1, "gallery_images_per_camera": 1, "query_images_per_outfit": 1,
                       "height": 64, "width": 32}}


def test_synthetic_dataset_command_writes_dataset(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(SMALL))
    root = tmp_path / "out" / "synthetic"
    done = subprocess.run([sys.executable, "-c", "from dlcr_assets.cli import main; main()", "synthetic-dataset",
                           "--params", str(params), "--root", str(root), "--seed", "5"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "train" in done.stdout and "query" in done.stdout
    assert len(list((root / "train").glob("*.png"))) == 2 * 2 * 2 * 1
    assert len(list((root / "parsing" / "query").glob("*.png"))) == 2 * 2 * 1
    assert '"seed": 5' in (root / "synthetic.json").read_text()


def test_synthetic_dataset_command_rejects_bad_params(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"synthetic": {"outfits_per_id": 2, "gallery_outfits": 2}}))
    done = subprocess.run([sys.executable, "-c", "from dlcr_assets.cli import main; main()", "synthetic-dataset",
                           "--params", str(params)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "synthetic" in done.stderr and "gallery_outfits" in done.stderr
