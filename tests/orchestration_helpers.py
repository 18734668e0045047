"""Shared by the orchestration tests: tiny params, free ports, server processes (`dagster dev` and its
GraphQL included), the DVC binary."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DVC = REPO / ".dvc-venv" / "bin" / "dvc"
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DVC_NO_ANALYTICS": "1", "DAGSTER_DISABLE_TELEMETRY": "1",
             "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}


def tiny_params(data_dir: Path | str = "data", absolute_to: Path | None = None, shards: int = 2) -> dict[str, Any]:
    """params.yaml content for a seconds-long pipeline: a dozen ids, one short epoch.

    ``absolute_to`` makes every path absolute under that folder (in-process tests); without it the
    paths stay relative (DVC runs stages in the repo root).
    """
    base = Path(absolute_to) if absolute_to else Path(".")
    data = base / data_dir
    return _complete({
        "data_dir": str(data),
        "datasets": {"synthetic": {"format": "synthetic", "root": str(data / "raw" / "synthetic")}},
        "synthetic": {
            "root": str(data / "raw" / "synthetic"), "train_ids": 6, "test_ids": 4, "outfits_per_id": 3,
            "cameras": 3, "train_cameras_per_outfit": 1, "train_images_per_camera": 2, "gallery_outfits": 1,
            "gallery_cameras_per_outfit": 1, "gallery_images_per_camera": 1, "query_images_per_outfit": 1,
            "height": 64, "width": 32,
        },
        "prompts": {"novel_factor": 1},
        "generation": {"variants_per_image": 2, "query_variants": 2, "shards": shards, "width": 32, "height": 64},
        "training": {"epochs": 1, "ids_per_batch": 3, "images_per_id": 2, "height": 64, "width": 32,
                     "milestones": [1], "cal_start_epoch": 0, "eval_every": 1, "max_steps_per_epoch": 2,
                     "amp": False, "channels_last": False, "min_steps": None},
        "evaluation": {"batch_size": 32, "refinement": {"views": 2, "top_k": 3}},
        "tracking": {"experiment": "dlcr-test", "log_checkpoint": False},
        "orchestration": {"watch_root": str(data / "raw")},
    })


def _complete(overrides: dict[str, Any]) -> dict[str, Any]:
    """Every section and key written out (DVC's params deps need each section in the file)."""
    from dlcr_assets.params import parse_params

    return parse_params(overrides).model_dump(mode="json")


def write_params(path: Path, params: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **QUIET_ENV, **extra}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 90.0, log: Path | None = None) -> None:
    """Poll ``url`` until it answers 200; fail early (with the log) if the server process died."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:] if log else ''}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not up after {timeout} s:\n{log.read_text()[-3000:] if log else ''}")


def stop(process: subprocess.Popen) -> None:
    """Stop a server this test started and every process of its group (workers, code servers)."""
    import signal

    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
    try:  # leftovers of the group (children that outlived the parent) go too
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if process.poll() is None:
        process.wait(timeout=10)


@contextmanager
def mlflow_server(tmp_path: Path):
    """The real `dlcr mlflow-server` on a free port, serving ``tmp_path/project`` (its store and artifact
    root, nothing shared), started from the repository as a user runs it; yields (base URL, project)."""
    project = tmp_path / "project"
    project.mkdir()
    port = free_port()
    log = tmp_path / "mlflow.log"
    server = subprocess.Popen(
        [str(VENV_BIN / "dlcr"), "mlflow-server", "--port", str(port), "--project-dir", str(project)],
        cwd=REPO, env=server_env(), stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health", server, timeout=120, log=log)
        yield base, project
    finally:
        stop(server)


@contextmanager
def redis_server(tmp_path: Path):
    """A throwaway Debian `redis-server` on a free 127.0.0.1 port (no snapshots, no AOF); yields its URL."""
    import shutil

    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise AssertionError("redis-server is not installed: scripts/setup.sh --test installs it (Debian package redis-server)")
    port = free_port()
    log = tmp_path / "redis.log"
    server = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=log.open("w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise AssertionError(f"redis-server exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if redis.Redis.from_url(url, socket_timeout=1).ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"redis-server not up after 30 s:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.1)
        yield url
    finally:
        stop(server)


DAGSTER_LOCATION = "dagster_project.definitions"
DAGSTER_REPOSITORY = {"repositoryLocationName": DAGSTER_LOCATION, "repositoryName": "__repository__"}


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    """One query or mutation against a `dagster dev` webserver; its errors fail the test."""
    import requests

    response = requests.post(f"{base}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def processes_with(home: Path) -> list[int]:
    """Ids of this user's processes whose environment names ``home`` as DAGSTER_HOME."""
    needle = f"DAGSTER_HOME={home}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone, or another user's
            continue
    return found


@contextmanager
def dagster_dev(cwd: Path, env: dict[str, str], log: Path, timeout: float = 180):
    """A real `dagster dev` (webserver and daemon) on a free 127.0.0.1 port, in its own process group,
    over ``env["DAGSTER_HOME"]``; yields its base URL. On the way out it stops the whole group and
    fails if any process of that DAGSTER_HOME outlived it (stop the test's own ones first)."""
    import signal

    home = Path(env["DAGSTER_HOME"])
    port = free_port()
    process = subprocess.Popen(
        [str(VENV_BIN / "dagster"), "dev", "-m", DAGSTER_LOCATION, "-h", "127.0.0.1", "-p", str(port)],
        cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/server_info", process, timeout=timeout, log=log)
        yield base
    finally:
        stop(process)
        leftovers = processes_with(home)
        for pid in leftovers:  # outside the group (a run worker that started its own session)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert not leftovers, f"processes of this DAGSTER_HOME outlived `dagster dev`: {leftovers}"


RUN_ERRORS = """
query Errors($id: ID!) {
  logsForRun(runId: $id) { ... on EventConnection { events {
    __typename
    ... on ExecutionStepFailureEvent { stepKey error { message } }
    ... on RunFailureEvent { message }
  } } }
}"""


def run_errors(base: str, runs: list[dict]) -> list[str]:
    """The step and run failure messages of the failed runs among ``runs`` (GraphQL Run: runId jobName status)."""
    lines = []
    for run in runs:
        if run["status"] != "FAILURE":
            continue
        events = graphql(base, RUN_ERRORS, {"id": run["runId"]})["logsForRun"].get("events", [])
        for event in events:
            if event["__typename"] == "ExecutionStepFailureEvent":
                lines.append(f"  {run['jobName']} step {event['stepKey']} failed: {event['error']['message'][-1500:]}")
            elif event["__typename"] == "RunFailureEvent":
                lines.append(f"  {run['jobName']} run failed: {event['message'][-500:]}")
    return lines
