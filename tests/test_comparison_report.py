"""The comparison report's rows: one definition per column, refinement on CC only."""
from __future__ import annotations

import json

from dlcr_assets.report import comparison_rows, metrics_markdown, write_comparison_report


def _report(cc_top1, cc_map, general_top1, general_map, refined=None):
    protocols = {"cc": {"top1": cc_top1, "mAP": cc_map}, "general": {"top1": general_top1, "mAP": general_map}}
    if refined is not None:
        protocols["cc_refined"] = refined
    return {"protocols": protocols}


BASELINE = _report(10.0, 12.0, 50.0, 40.0)
DLCR = _report(30.0, 32.0, 70.0, 60.0, refined={"top1": 31.0, "mAP": 33.0, "top1_fused": 41.0})


def test_every_row_uses_cmc_rank1_and_the_fused_top1_has_its_own_column():
    rows = {row["method"]: row for row in comparison_rows(BASELINE, DLCR)}
    assert rows["baseline"] == {"method": "baseline", "cc_top1": 10.0, "cc_mAP": 12.0, "cc_fused_top1": None,
                                "general_top1": 50.0, "general_mAP": 40.0}
    assert rows["DLCR"]["cc_top1"] == 30.0 and rows["DLCR"]["cc_fused_top1"] is None
    refined = rows["DLCR + refinement"]
    # CMC rank-1 of the refined ranking, not the fused prediction
    assert refined["cc_top1"] == 31.0 and refined["cc_mAP"] == 33.0 and refined["cc_fused_top1"] == 41.0
    # refinement is for CC queries: no general numbers copied from the DLCR row
    assert refined["general_top1"] is None and refined["general_mAP"] is None


def test_missing_refinement_and_failed_protocols_are_empty_cells():
    dlcr = _report(30.0, 32.0, 70.0, 60.0)
    dlcr["protocols"]["general"] = {"error": "no query has a good match"}
    rows = {row["method"]: row for row in comparison_rows(BASELINE, dlcr)}
    assert rows["DLCR"]["general_top1"] is None
    assert all(rows["DLCR + refinement"][key] is None for key in ("cc_top1", "cc_mAP", "cc_fused_top1"))
    table = metrics_markdown(list(rows.values()))
    assert table.splitlines()[0] == "| method | CC top-1 | CC mAP | CC fused top-1 | general top-1 | general mAP |"
    assert "| DLCR + refinement | n/a | n/a | n/a | n/a | n/a |" in table


def test_written_report_keys_metrics_by_method(tmp_path):
    summary = write_comparison_report("tiny", BASELINE, DLCR, tmp_path)
    written = json.loads((tmp_path / "comparison.json").read_text())
    assert written["metrics"]["dlcr_refinement"]["cc_fused_top1"] == 41.0
    assert written["metrics"]["baseline"]["general_mAP"] == 40.0
    assert "CC fused top-1" in (tmp_path / "comparison.md").read_text()
    assert summary["rows"] == written["rows"]
