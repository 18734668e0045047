"""The cross-dataset benchmark runs the pipeline on both renderers and records a row per method (issue 12)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(1200)
def test_smoke_run_records_baseline_dlcr_and_refinement_for_both_renderers(tmp_path):
    out = tmp_path / "gain.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "dataset_gain.py"), "--smoke", "--work", str(tmp_path / "work"),
           "--cases", "synthetic-25ids,figures", "--seeds", "0", "--out", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    cases = json.loads(out.read_text())["cases"]
    assert set(cases) == {"synthetic-25ids", "figures"}
    for case, entry in cases.items():
        (run,) = entry["runs"]
        assert run["seed"] == 0 and run["train_images"] > 0 and run["smoke"] is True
        assert [row["method"] for row in run["rows"]] == ["baseline", "DLCR", "DLCR + refinement"]
        assert all(0.0 <= row["cc_mAP"] <= 100.0 for row in run["rows"]), case
        assert run["rows"][2]["cc_fused_top1"] is not None  # refinement ran on the query variants
    assert "**figures** (figures renderer" in result.stdout and "| DLCR + refinement |" in result.stdout
    # a second call finds both recorded and reruns nothing
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 0 and again.stdout.count("recorded already") == 2
