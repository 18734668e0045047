"""The new-dataset sensor: a folder appears under orchestration.watch_root -> partition + pipeline run.

Each folder is looked at once (the cursor remembers the sanitised names handled). A folder
whose layout matches no format is skipped with the loader's reason, never a crash; it is retried
when its modification time changes (e.g. the user finished copying it).
"""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

import json
from pathlib import Path

from dagster import AddDynamicPartitionsRequest, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from dagster_project.defs.data.jobs import dataset_pipeline_job
from dagster_project.defs.data.partitions import DATASET_PARTITIONS_NAME
from dagster_project.execution import AUTOMATION_DEFAULT_STATUS
from dagster_project.resources import ParamsResource


def _folder_stamp(folder: Path) -> float:
    return folder.stat().st_mtime


@sensor(job=dataset_pipeline_job, minimum_interval_seconds=30, default_status=AUTOMATION_DEFAULT_STATUS,
        description="Registers new dataset folders under orchestration.watch_root and runs the pipeline on them.")
def new_dataset_sensor(context: SensorEvaluationContext, params: ParamsResource):
    from dlcr_assets.layout import watched_folders
    from dlcr_reid.datasets import detect_format

    run_params = params.load()
    seen: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions(DATASET_PARTITIONS_NAME))
    new_keys: list[str] = []
    run_requests: list[RunRequest] = []
    skipped: list[str] = []
    # params.yaml's own datasets are registered too, so the UI lists them without a manual step
    candidates = {name: Path(spec.root) for name, spec in run_params.datasets.items()}
    for name, folder in watched_folders(Path(run_params.orchestration.watch_root)).items():
        candidates.setdefault(name, folder)
    for name, folder in sorted(candidates.items()):
        if name in known:
            continue
        if not folder.is_dir():  # registered in params.yaml but not on disk yet: look again next tick
            skipped.append(f"{name}: {folder} does not exist yet")
            continue
        stamp = _folder_stamp(folder)
        if seen.get(name) == stamp:
            continue
        seen[name] = stamp
        try:
            detected = run_params.datasets[name].format if name in run_params.datasets else detect_format(folder)
        except Exception as error:  # a malformed folder must not stop the sensor
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            skipped.append(f"{folder.name}: {reason}")
            context.log.warning(f"skipping {folder}: {reason}")
            continue
        context.log.info(f"new dataset {name!r} ({detected}) at {folder}")
        new_keys.append(name)
        run_requests.append(RunRequest(run_key=f"{name}:{stamp}", partition_key=name,
                                       tags={"dlcr/dataset": name, "dlcr/format": detected}))
    if not new_keys:
        message = "no new dataset folder" + (f"; skipped: {' | '.join(skipped)}" if skipped else "")
        return SensorResult(skip_reason=SkipReason(message), cursor=json.dumps(seen))
    return SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[AddDynamicPartitionsRequest(DATASET_PARTITIONS_NAME, new_keys)],
        cursor=json.dumps(seen),
    )
