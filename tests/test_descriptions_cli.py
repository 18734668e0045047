"""`dlcr clothing-descriptions` and `dlcr clothing-prompts` read and write the contract's files (CPU backends)."""
from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from dlcr_assets.cli import app
from dlcr_reid.io import save_table
from tiny_text_models import toy_index


def test_describe_then_prompts_write_their_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_table(toy_index(tmp_path / "images"), tmp_path / "data" / "dataset_index" / "toy.parquet")
    (tmp_path / "params.yaml").write_text("prompts:\n  novel_factor: 2\n")
    runner = CliRunner()
    described = runner.invoke(app, ["clothing-descriptions", "--dataset", "toy", "--params", "params.yaml", "--device", "cpu"])
    assert described.exit_code == 0, described.output
    descriptions = pd.read_parquet(tmp_path / "data" / "clothing_descriptions" / "toy.parquet")
    assert len(descriptions) == 4 and "described 4 training images (2 outfits)" in described.output
    prompted = runner.invoke(app, ["clothing-prompts", "--dataset", "toy", "--params", "params.yaml"])
    assert prompted.exit_code == 0, prompted.output
    prompts = pd.read_parquet(tmp_path / "data" / "clothing_prompts" / "toy.parquet")
    assert prompts["source"].tolist() == ["dataset"] * 2 + ["novel"] * 4
    assert prompts["prompt"].iloc[0] == "dark red coat, white top, black trousers, brown shoes"
    assert not list((tmp_path / "data" / "clothing_prompts").glob(".*tmp"))  # atomic write left no temp file


def test_missing_input_table_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("{}\n")
    result = CliRunner().invoke(app, ["clothing-prompts", "--dataset", "toy"])
    assert result.exit_code != 0 and isinstance(result.exception, FileNotFoundError)
    assert "dlcr clothing-descriptions" in str(result.exception)
