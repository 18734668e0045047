"""`generated_images_schedule`: re-generate every registered dataset's images on params' cron.

Dagster fixes a schedule's cron when the definitions load, and they load without params.yaml, so
the schedule ticks every hour (``POLL_CRON``) and its function reads orchestration.generated_images_cron
at each tick: it requests the runs when that cron fell due within the hour up to this tick. A
changed cron therefore needs no reload; the price is that a due time off the full hour starts at
the next full hour, and a cron due more than once an hour runs once an hour.
"""
# No `from __future__ import annotations` here: Dagster reads the context and resource
# annotations of decorated functions as real types when the definitions load.

from datetime import datetime, timedelta, timezone

from dagster import RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from dagster_project.defs.data.partitions import DATASET_PARTITIONS_NAME
from dagster_project.defs.generation.jobs import generated_images_job
from dagster_project.defs.generation.partitions import dataset_shard_key, sync_shard_keys
from dagster_project.execution import SCHEDULE_DEFAULT_STATUS
from dagster_project.resources import ParamsResource

POLL_CRON = "0 * * * *"
POLL_INTERVAL = timedelta(hours=1)


def last_due(cron: str, now: datetime) -> datetime:
    """The latest time at or before ``now`` when ``cron`` (UTC) is due; a bad cron is a ValueError."""
    # Dagster's own cron iterator (no croniter dependency); dagster is pinned, see pyproject.toml
    from dagster._utils.schedules import get_latest_completed_cron_tick, is_valid_cron_string

    if not is_valid_cron_string(cron):
        raise ValueError(f"orchestration.generated_images_cron: {cron!r} is not a valid cron string")
    return get_latest_completed_cron_tick(cron, now + timedelta(seconds=1), "UTC")


@schedule(job=generated_images_job, cron_schedule=POLL_CRON, execution_timezone="UTC",
          default_status=SCHEDULE_DEFAULT_STATUS,
          description="On orchestration.generated_images_cron (read at each hourly tick): one run per (dataset, shard) of "
                      "every registered dataset; DLCR training follows by automation.")
def generated_images_schedule(context: ScheduleEvaluationContext, params: ParamsResource):
    run_params = params.load()
    now = context.scheduled_execution_time or datetime.now(timezone.utc)
    due = last_due(run_params.orchestration.generated_images_cron, now)
    if due <= now - POLL_INTERVAL:
        return SkipReason(f"orchestration.generated_images_cron {run_params.orchestration.generated_images_cron!r} "
                          f"was last due at {due.isoformat()}, before this tick's hour")
    datasets = sorted(context.instance.get_dynamic_partitions(DATASET_PARTITIONS_NAME))
    if not datasets:
        return SkipReason("no dataset registered yet (the new-dataset sensor adds them)")
    # the runs need their shard keys now, not at the shard sensor's next tick
    shards = sync_shard_keys(context.instance, int(run_params.generation.shards))
    return [
        RunRequest(run_key=f"{name}:{shard}:{due.isoformat()}", partition_key=dataset_shard_key(name, shard),
                   tags={"dlcr/dataset": name})
        for name in datasets
        for shard in shards
    ]
