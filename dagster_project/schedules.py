"""The regeneration schedule: re-generate every registered dataset's images on params' cron."""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from dagster_project.jobs import regeneration_job
from dagster_project.partitions import DATASET_PARTITIONS_NAME, SHARD_COUNT, dataset_shard_key
from dagster_project.sensors import AUTOMATION_DEFAULT_STATUS


def _regeneration_cron() -> str:
    from dlcr_assets.params import default_params_path, load_params

    path = default_params_path()
    return load_params(path).orchestration.regeneration_cron if path.is_file() else "0 3 * * 0"


@schedule(job=regeneration_job, cron_schedule=_regeneration_cron(), execution_timezone="UTC",
          default_status=DefaultScheduleStatus(AUTOMATION_DEFAULT_STATUS.value),
          description="One run per (dataset, shard) of every registered dataset; DLCR training follows by automation.")
def regeneration_schedule(context: ScheduleEvaluationContext):
    datasets = sorted(context.instance.get_dynamic_partitions(DATASET_PARTITIONS_NAME))
    if not datasets:
        return SkipReason("no dataset registered yet (the new-dataset sensor adds them)")
    stamp = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
    return [
        RunRequest(run_key=f"{name}:{shard}:{stamp}", partition_key=dataset_shard_key(name, shard),
                   tags={"dlcr/dataset": name})
        for name in datasets
        for shard in range(SHARD_COUNT)
    ]
