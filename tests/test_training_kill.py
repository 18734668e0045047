"""`dlcr reid-checkpoint` killed with SIGKILL mid-epoch and mid-checkpoint-write resumes to an uninterrupted run's weights.

One chain of real processes on one checkpoint folder: attempt A is killed in epoch 2 (epoch 1's
checkpoint complete), attempt B (`--resume`) is killed while epoch 3's checkpoint is being written
(the moment a temporary file of that write appears), attempt C (`--resume`) finishes. C's last
checkpoint must equal, tensor for tensor and bit for bit, that of a run never interrupted; the
MLflow runs of A and B must be KILLED (they could not close themselves) and the three linked.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import torch
import yaml
from mlflow.tracking import MlflowClient
from safetensors.torch import load_file

from dlcr_reid.io import save_table
from orchestration_helpers import VENV_BIN, server_env
from training_support import make_index

TRAINING = dict(backbone="resnet18", weights="none", height=32, width=16, ids_per_batch=2, images_per_id=2,
                epochs=3, milestones=[2], cal_start_epoch=1, eval_every=0, max_steps_per_epoch=2, num_workers=0,
                seed=3, keep_checkpoints=0, amp=False, channels_last=False, min_steps=None)


def _params_file(tmp_path: Path, name: str, data_dir: Path, uri: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    tracking = {"uri": uri, "experiment": "kill-test"} if uri else {"enabled": False}
    path.write_text(yaml.safe_dump({"data_dir": str(data_dir), "training": TRAINING, "tracking": tracking}))
    return path


def _train_args(params: Path, resume: bool = False) -> list[str]:
    args = [str(VENV_BIN / "dlcr"), "reid-checkpoint", "--dataset", "tiny", "--mode", "baseline", "--device", "cpu",
            "--params", str(params)]
    return args + ["--resume"] if resume else args


def _kill_when(args: list[str], folder: Path, log: Path, seen: Callable[[list[str]], str | None]) -> str:
    """Run ``args``; SIGKILL it the moment ``seen`` (polled on ``folder``'s names) returns a name."""
    process = subprocess.Popen(args, env=server_env(), stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while process.poll() is None and time.monotonic() < deadline:
            hit = seen(os.listdir(folder)) if folder.is_dir() else None
            if hit is not None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
                assert process.returncode == -signal.SIGKILL
                return hit
            time.sleep(0.001)
        raise AssertionError(f"{args} ended (rc {process.returncode}) before the kill point:\n"
                             f"{log.read_text()[-3000:]}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def _run(args: list[str], log: Path) -> None:
    result = subprocess.run(args, env=server_env(), stdout=log.open("w"), stderr=subprocess.STDOUT, timeout=300)
    assert result.returncode == 0, log.read_text()[-3000:]


def test_sigkill_mid_epoch_and_mid_checkpoint_write_then_resume_gives_the_uninterrupted_weights(tmp_path):
    index = make_index(tmp_path / "raw")
    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    for data_dir in (straight_dir, killed_dir):
        save_table(index, data_dir / "dataset_index" / "tiny.parquet")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    reference = _params_file(tmp_path, "straight", straight_dir, "")
    params = _params_file(tmp_path, "killed", killed_dir, uri)
    out = killed_dir / "reid_checkpoint" / "tiny" / "baseline"

    # A: killed in epoch 2, as soon as epoch 1's checkpoint is complete (its JSON is written last)
    _kill_when(_train_args(params), out, tmp_path / "a.log",
               lambda names: "epoch-001.json" if "epoch-001.json" in names else None)
    assert "epoch-002.json" not in os.listdir(out)
    client = MlflowClient(uri)
    (run_a,) = client.search_runs([client.get_experiment_by_name("kill-test").experiment_id])
    assert run_a.info.status == "RUNNING"  # SIGKILL: the process could not close its run

    # B: resumes from epoch 1, killed while a file of epoch 3's checkpoint is still a temporary file
    def writing_epoch_3(names: list[str]) -> str | None:
        return next((n for n in names if n.startswith(".epoch-003.") and n.endswith(".tmp")), None)

    temporary = _kill_when(_train_args(params, resume=True), out, tmp_path / "b.log", writing_epoch_3)
    assert (out / temporary).is_file(), "the kill came after the write had finished"
    assert "epoch-003.json" not in os.listdir(out) and "epoch-002.json" in os.listdir(out)
    assert "resuming from" in (tmp_path / "b.log").read_text()

    # C: resumes from epoch 2 (the last complete checkpoint) and finishes
    _run(_train_args(params, resume=True), tmp_path / "c.log")
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")], "the killed write's temporary file is left"
    _run(_train_args(reference), tmp_path / "straight.log")
    expected = load_file(str(straight_dir / "reid_checkpoint" / "tiny" / "baseline" / "epoch-003.safetensors"))
    got = load_file(str(out / "epoch-003.safetensors"))
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name

    # MLflow: A and B marked KILLED by the attempt after them, the three runs chained, C complete
    runs = {run.info.run_id: run for run in client.search_runs([run_a.info.experiment_id])}
    assert len(runs) == 3
    run_a = runs[run_a.info.run_id]
    run_b = runs[run_a.data.tags["dlcr.resumed_by"]]
    run_c = runs[run_b.data.tags["dlcr.resumed_by"]]
    assert run_b.data.tags["dlcr.resumed_from"] == run_a.info.run_id
    assert run_c.data.tags["dlcr.resumed_from"] == run_b.info.run_id
    assert [r.info.status for r in (run_a, run_b, run_c)] == ["KILLED", "KILLED", "FINISHED"]
    assert [m.step for m in client.get_metric_history(run_c.info.run_id, "loss_total")] == [1, 2, 3]
    assert f"MLflow run: {run_c.info.run_id}" in (tmp_path / "c.log").read_text()
