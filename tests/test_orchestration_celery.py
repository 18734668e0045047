"""Generation shards through dagster-celery: a real redis-server, two real workers on 127.0.0.1.

The four shards of one dataset run as four runs of `generated_images_job`, each through the
Celery executor ($DLCR_EXECUTOR=celery) to two `dagster-celery worker start` processes listening
on the `gpu` and `dagster` queues; the run processes and the workers share one DAGSTER_HOME
(sqlite storage in tmp). The first test launches them as a real backfill: a `dagster dev`
(webserver and daemon, automation off) whose definitions default to the Celery executor is sent
`launchPartitionBackfill` over GraphQL for the four shard partitions, and the test waits for the
backfill to complete, then checks that both workers ran shards and that every planned image has
exactly one manifest row with both checks passing. The second starts the four runs itself
(`dagster job execute`, side by side, as the backfill does), SIGKILLs a whole worker (its Celery
main process and its pool process) while its shard is half written and checks that Redis hands
the shard to the other worker and that nothing is lost or written twice.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef

from orchestration_helpers import (DAGSTER_REPOSITORY, REPO, VENV_BIN, dagster_dev, graphql, redis_server, run_errors,
                                   server_env, stop, tiny_params, write_params)

warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*")

DATASET = "synthetic"
SHARDS = 4
WORKERS = ("w1", "w2")
BACKFILL_TIMEOUT_S = 300
# a few seconds of recolor work per shard on these cores: long enough to be killed half way
SIZE = {"height": 256, "width": 128, "train_images_per_camera": 10}
VARIANTS = 4


@dataclass
class Project:
    root: Path
    home: Path
    params: Path
    env: dict[str, str]

    @property
    def out_dir(self) -> Path:
        return self.root / "data" / "generated_images" / "synthetic"


def _project(tmp_path: Path, broker: str, redelivery_s: int) -> Project:
    """Params, the synthetic dataset and every step before generation; a DAGSTER_HOME the workers share."""
    from dagster_project.defs.data.partitions import DATASET_PARTITIONS_NAME
    from dagster_project.defs.generation.partitions import sync_shard_keys
    from dagster_project.resources import MlflowResource
    from dlcr_assets import steps
    from dlcr_assets.params import parse_params

    raw = tiny_params(absolute_to=tmp_path, shards=SHARDS)
    raw["synthetic"].update(SIZE)
    raw["generation"]["variants_per_image"] = VARIANTS
    raw["tracking"]["uri"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    params_path = write_params(tmp_path / "params.yaml", raw)
    params = parse_params(raw)
    steps.synthetic_dataset(params)
    steps.dataset_index(params, "synthetic")
    for step in (steps.clothing_descriptions, steps.clothing_prompts, steps.clothing_masks):
        step(params, "synthetic", "cpu")
    # parallel MLflow writers need the database and the experiment to exist first
    MlflowResource().ensure_experiment(params.tracking)

    home = tmp_path / "dagster_home"
    home.mkdir()
    # one slot of the gpu pool per GPU worker: two shards run at once
    (home / "dagster.yaml").write_text(yaml.safe_dump({
        "telemetry": {"enabled": False},
        "concurrency": {"pools": {"default_limit": len(WORKERS), "granularity": "op"},
                        "runs": {"max_concurrent_runs": SHARDS}},  # the daemon's run queue: every shard at once
    }))
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        instance.add_dynamic_partitions(DATASET_PARTITIONS_NAME, [DATASET])
        sync_shard_keys(instance, SHARDS)
    env = server_env(DAGSTER_HOME=str(home), DLCR_PARAMS=str(params_path), DLCR_AUTOMATION="off",
                     DLCR_EXECUTOR="celery", DLCR_CELERY_BROKER=broker, DLCR_CELERY_REDELIVERY_S=str(redelivery_s),
                     PYTHONPATH=str(REPO))
    env.pop("MLFLOW_TRACKING_URI", None)
    return Project(tmp_path, home, params_path, env)


def _start_worker(project: Project, name: str) -> subprocess.Popen:
    """`dagster-celery worker start` as the README gives it: both queues, one step at a time.

    The queues go as one comma-separated ``-q``: dagster-celery turns each ``-q`` into a ``-Q`` of
    `celery worker`, whose ``-Q`` is a single comma-separated option (Celery 5), so of two the last wins.
    """
    log = project.root / f"worker-{name}.log"
    return subprocess.Popen(
        [str(VENV_BIN / "dagster-celery"), "worker", "start", "-A", "dagster_project.celery_worker", "-n", name,
         "-q", "gpu,dagster", "--", "--concurrency=1"],
        cwd=project.root, env=project.env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def _wait_ready(project: Project, workers: dict[str, subprocess.Popen], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    pending = set(workers)
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            log = (project.root / f"worker-{name}.log").read_text()
            if workers[name].poll() is not None:
                raise AssertionError(f"worker {name} exited with {workers[name].returncode}:\n{log[-3000:]}")
            if " ready." in log:
                pending.discard(name)
        time.sleep(0.5)
    assert not pending, f"workers {pending} not ready after {timeout} s"


def _start_runs(project: Project) -> list[subprocess.Popen]:
    """One run per shard, side by side (what the first test's backfill of the four partitions launches)."""
    runs = []
    for shard in range(SHARDS):
        tags = {"dagster/partition": f"{DATASET}|{shard}", "dagster/partition/dataset": DATASET,
                "dagster/partition/shard": str(shard)}
        log = project.root / f"run-{shard}.log"
        runs.append(subprocess.Popen(
            [str(VENV_BIN / "dagster"), "job", "execute", "-m", "dagster_project.definitions",
             "-j", "generated_images_job", "--tags", json.dumps(tags)],
            cwd=project.root, env=project.env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        ))
    return runs


def _wait_runs(project: Project, runs: list[subprocess.Popen], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    for shard, run in enumerate(runs):
        try:
            run.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"run of shard {shard} not done after {timeout} s:\n"
                                 f"{(project.root / f'run-{shard}.log').read_text()[-3000:]}") from None
        assert run.returncode == 0, (project.root / f"run-{shard}.log").read_text()[-5000:]


LAUNCH_BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status partitionNames error { message } runs { runId jobName status tags { key value } } }
    ... on Error { message }
  }
}"""
# BulkActionStatus: COMPLETED_SUCCESS once every run has ended well (COMPLETED is its deprecated name)
BACKFILL_DONE, BACKFILL_FAILED = ("COMPLETED_SUCCESS", "COMPLETED"), ("COMPLETED_FAILED", "FAILED", "CANCELED", "FAILING")


def _launch_backfill(base: str) -> str:
    """A partition backfill of `generated_images_job` over the dataset's shard keys, as the UI launches it."""
    params = {"selector": {"partitionSetName": "generated_images_job_partition_set", "repositorySelector": DAGSTER_REPOSITORY},
              "partitionNames": [f"{DATASET}|{shard}" for shard in range(SHARDS)], "title": "generation shards"}
    result = graphql(base, LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return result["backfillId"]


def _wait_backfill(base: str, backfill_id: str, project: Project) -> dict:
    """Poll the backfill until it has completed (the daemon marks it so once all its runs have ended);
    fail with its runs' errors, the workers' and `dagster dev`'s log tails when it fails or times out."""
    started = time.monotonic()
    while True:
        backfill = graphql(base, BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        assert backfill["__typename"] == "PartitionBackfill", backfill
        if backfill["status"] in BACKFILL_DONE:
            return backfill
        failed = backfill["status"] in BACKFILL_FAILED or any(r["status"] in ("FAILURE", "CANCELED") for r in backfill["runs"])
        if failed or time.monotonic() - started > BACKFILL_TIMEOUT_S:
            logs = [f"{path.name}:\n{path.read_text()[-2000:]}" for path in
                    [*(project.root / f"worker-{name}.log" for name in WORKERS), project.root / "dagster.log"]]
            raise AssertionError("\n".join([
                f"backfill {backfill_id} {backfill['status']} after {time.monotonic() - started:.0f} s"
                f" (error: {backfill['error']}); runs:",
                *(f"  {r['jobName']} {r['status']} {r['runId'][:8]} {[t['value'] for t in r['tags'] if t['key'] == 'dagster/partition']}"
                  for r in backfill["runs"]),
                *run_errors(base, backfill["runs"]), *logs]))
        time.sleep(2)


EXECUTING = "Executing steps generated_images in celery worker"  # dagster-celery's event, from the worker


def _worker_names(entries) -> list[str]:
    return [entry.dagster_event.engine_event_data.metadata["Celery worker"].value.split("@")[0]
            for entry in entries if EXECUTING in entry.message]


def _executions(instance: DagsterInstance) -> tuple[dict[str, list[str]], set[int]]:
    """(shard key -> the Celery workers that started its step, in order; pids of the processes that ran steps)."""
    by_shard: dict[str, list[str]] = {}
    pids: set[int] = set()
    for run in instance.get_runs():
        assert run.status == DagsterRunStatus.SUCCESS, (run.run_id, run.status)
        by_shard[run.tags["dagster/partition/shard"]] = _worker_names(
            instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT))
        pids |= {entry.dagster_event.pid for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)}
    return by_shard, pids


def _assert_every_image_once(project: Project, instance: DagsterInstance) -> pd.DataFrame:
    """Each planned image of each shard: one manifest row (over all part files), ok, its PNG on disk;
    both blocking checks of each shard (the count and the pixels outside the mask) passed."""
    from dagster import AssetCheckKey

    from dlcr_assets.generation.manifest import merge_manifest, part_files

    planned = pd.concat([pd.read_parquet(project.out_dir / "manifest" / f"plan-{k}-of-{SHARDS}.parquet")
                         for k in range(SHARDS)], ignore_index=True)
    rows = pd.concat([pd.read_parquet(part) for part in part_files(project.out_dir)], ignore_index=True)
    keys = ["source_path", "variant"]
    assert len(planned) > 0
    assert not rows.duplicated(keys).any(), rows[rows.duplicated(keys, keep=False)].sort_values(keys)
    assert set(map(tuple, rows[keys].to_numpy())) == set(map(tuple, planned[keys].to_numpy()))
    assert (rows["status"] == "ok").all()
    assert all(Path(path).is_file() for path in rows["path"])
    on_disk = {str(p) for p in (project.out_dir / "train").glob("*.png")}
    assert on_disk == set(rows["path"])
    assert not list((project.out_dir / "train").glob(".*.tmp"))  # no half-written image left behind
    # what training reads first: the merged manifest, one row per image
    merged = merge_manifest(project.out_dir, project.root / "data" / "generated_images" / "synthetic.parquet")
    assert len(merged) == len(planned) and not merged.duplicated(keys).any()

    shards = instance.get_materialized_partitions(AssetKey("generated_images"))
    assert len(shards) == SHARDS, shards
    for name in ("generated_count_equals_expected", "pixels_outside_mask_unchanged"):
        check = AssetCheckKey(AssetKey("generated_images"), name)
        for run in instance.get_runs():
            evaluations = [e.dagster_event.event_specific_data for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]
            assert [e.passed for e in evaluations if e.asset_check_key == check] == [True], (run.run_id, name)
    return planned


@pytest.mark.slow
def test_four_shards_run_on_both_celery_workers(tmp_path):
    with redis_server(tmp_path) as broker:
        project = _project(tmp_path, broker, redelivery_s=600)
        workers = {name: _start_worker(project, name) for name in WORKERS}  # they start while `dagster dev` does
        try:
            with dagster_dev(tmp_path, project.env, tmp_path / "dagster.log") as base:
                try:
                    _wait_ready(project, workers)
                    started = time.monotonic()
                    backfill_id = _launch_backfill(base)
                    backfill = _wait_backfill(base, backfill_id, project)
                    print(f"backfill of {SHARDS} shards: {time.monotonic() - started:.0f} s from launch to completed")
                finally:  # before `dagster dev` goes: its teardown fails on any process of this DAGSTER_HOME
                    for worker in workers.values():
                        stop(worker)
        finally:  # also when `dagster dev` did not come up
            for worker in workers.values():
                stop(worker)
        assert sorted(backfill["partitionNames"]) == [f"{DATASET}|{k}" for k in range(SHARDS)]
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(project.home))) as instance:
            runs = instance.get_runs()
            # the backfill launched every run of the instance: one generated_images_job run per shard
            assert len(runs) == SHARDS and all(run.job_name == "generated_images_job" for run in runs), runs
            assert all(run.tags.get("dagster/backfill") == backfill_id for run in runs), [run.tags for run in runs]
            assert {run.run_id for run in runs} == {run["runId"] for run in backfill["runs"]}
            executions, pids = _executions(instance)
            assert sorted(executions) == [str(k) for k in range(SHARDS)], executions
            assert all(len(ran) == 1 for ran in executions.values()), executions  # each shard ran once
            assert {ran[0] for ran in executions.values()} == set(WORKERS), executions
            assert len(pids) == len(WORKERS), pids  # one pool process per worker ran the steps
            _assert_every_image_once(project, instance)
        for name in WORKERS:  # Celery prints the queues a worker consumes when it starts
            log = (tmp_path / f"worker-{name}.log").read_text()
            assert ".> gpu " in log and ".> dagster " in log, log[:3000]


@pytest.mark.slow
def test_a_shard_of_a_sigkilled_worker_is_finished_by_the_other(tmp_path):
    from dagster_project.execution import RESTORE_SWEEP_S

    redelivery_s = 30  # above the slowest healthy shard here (~12 s, the first of a fresh worker)
    with redis_server(tmp_path) as broker:
        project = _project(tmp_path, broker, redelivery_s=redelivery_s)
        workers = {name: _start_worker(project, name) for name in WORKERS}
        try:
            _wait_ready(project, workers)
            runs = _start_runs(project)
            victim, shard, done_at_kill, planned_in_shard = _kill_mid_shard(project, workers)
            _wait_runs(project, runs)
        finally:
            for worker in workers.values():
                stop(worker)
        assert workers[victim].returncode == -signal.SIGKILL
        assert 0 < done_at_kill < planned_in_shard
        survivor = next(name for name in WORKERS if name != victim)
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(project.home))) as instance:
            executions, _ = _executions(instance)
            # the killed shard started on the victim and was run again, to the end, by the survivor
            assert executions[str(shard)] == [victim, survivor], executions
            assert all(len(ran) == 1 for key, ran in executions.items() if key != str(shard)), executions
            _assert_every_image_once(project, instance)
        # Redis handed it over once the redelivery time had passed since it reached the victim: the
        # clock starts when the victim received the task (its log's `received` line), not when the
        # step's first event was written, which comes a process start later
        victim_got, survivor_got = _received(tmp_path / f"worker-{victim}.log"), _received(tmp_path / f"worker-{survivor}.log")
        (task,) = set(victim_got) & set(survivor_got)
        handover = survivor_got[task] - victim_got[task]
        assert redelivery_s - 1 <= handover <= redelivery_s + RESTORE_SWEEP_S + 20, (task, handover)
        # the survivor took over the images the victim had finished instead of painting them again
        assert "adopting" in (tmp_path / f"worker-{survivor}.log").read_text()


RECEIVED = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/MainProcess\] Task (\S+) received$", re.M)


def _received(log: Path) -> dict[str, float]:
    """Seconds (epoch) at which a worker received each Celery task, from its log's `received` lines."""
    return {task: datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
            for stamp, task in RECEIVED.findall(log.read_text())}


def _kill_mid_shard(project: Project, workers: dict[str, subprocess.Popen]) -> tuple[str, int, int, int]:
    """SIGKILL the whole worker (main and pool processes) running a shard that is partly on disk.

    The shard's plan file appears when its step starts; its images then appear one by one. The
    worker running it is the one named in the run's "Executing steps ... in celery worker" event.
    """
    deadline = time.monotonic() + 240
    plans: dict[int, set[str]] = {}
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(project.home))) as instance:
        while time.monotonic() < deadline:
            for k in range(SHARDS):
                plan_file = project.out_dir / "manifest" / f"plan-{k}-of-{SHARDS}.parquet"
                if k not in plans and plan_file.is_file():
                    plans[k] = set(pd.read_parquet(plan_file, columns=["path"])["path"])
            for k, paths in plans.items():
                done = sum(os.path.exists(p) for p in paths)
                if 0 < done < len(paths) // 2:
                    worker = _worker_of(instance, k)
                    if worker is None:
                        continue
                    os.killpg(workers[worker].pid, signal.SIGKILL)
                    workers[worker].wait(timeout=30)
                    return worker, k, done, len(paths)
            time.sleep(0.005)
    raise AssertionError("no shard was seen half written")


def _worker_of(instance: DagsterInstance, shard: int) -> str | None:
    for run in instance.get_runs():
        if run.tags.get("dagster/partition/shard") == str(shard):
            names = _worker_names(instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT))
            return names[0] if names else None
    return None
