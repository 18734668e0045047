"""ReID checks: the evaluation reports hold every number the comparison needs (warns only: nothing
expensive follows the reports)."""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

import json

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from dagster_project.common import dataset_of, load_run_params, paths_for
from dagster_project.defs.data.partitions import dataset_partitions
from dagster_project.resources import ParamsResource
from dlcr_assets.layout import MODES


def missing_report_keys(report: dict, refined: bool) -> list[str]:
    """Which of the numbers the comparison needs a report lacks (per the dataset's protocols)."""
    from dlcr_reid.evaluation import PROTOCOLS

    offered = {p.name for p in PROTOCOLS.get(str(report.get("format")), PROTOCOLS["ltcc"])}
    needed = [name for name in ("general", "cc") if name in offered]
    needed += ["cc_refined"] if refined and "cc" in offered else []
    missing = []
    for name in needed:
        block = report.get("protocols", {}).get(name)
        if not isinstance(block, dict) or "error" in block:
            missing.append(f"{name}: {block.get('error') if isinstance(block, dict) else 'absent'}")
            continue
        missing += [f"{name}.{key}" for key in ("top1", "mAP") if not isinstance(block.get(key), (int, float))]
    return missing


@asset_check(asset="evaluation_reports", partitions_def=dataset_partitions)
def evaluation_report_complete(context: AssetCheckExecutionContext, params: ParamsResource) -> AssetCheckResult:
    """Both reports exist with general and CC top-1/mAP, and the DLCR one has the refined CC numbers."""
    run_params = load_run_params(params)
    paths = paths_for(run_params, dataset_of(context))
    problems: list[str] = []
    for mode in MODES:
        path = paths.evaluation_report(mode)["json"]
        if not path.is_file():
            problems.append(f"{path} missing")
            continue
        missing = missing_report_keys(json.loads(path.read_text()), refined=(mode == "dlcr"))
        problems += [f"{mode}: {m}" for m in missing]
    return AssetCheckResult(passed=not problems, severity=AssetCheckSeverity.WARN,
                            metadata={"problems": "; ".join(problems) or "none"})
