"""`dvc repro` runs the pipeline in a fresh clone; a param change reruns only what reads it; push/pull round-trip."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from orchestration_helpers import DVC, REPO, server_env, tiny_params, write_params


@pytest.fixture(autouse=True)
def _dvc_installed():
    # a missing DVC is a broken setup, not a reason to skip: fail and say how to fix it
    if not DVC.exists():
        pytest.fail(f"{DVC} not found: run `bash scripts/setup.sh` (DVC lives in its own venv, .dvc-venv)")


# stages that do not read `training`: a training.lr change must leave them alone
UNAFFECTED_BY_TRAINING = {"synthetic_dataset", "dataset_index@synthetic", "clothing_descriptions@synthetic",
                          "clothing_prompts@synthetic", "clothing_masks@synthetic", "generated_images@synthetic",
                          "query_variants@synthetic", "discriminator@synthetic", "guided_images@synthetic"}
# generation_quality: the baseline is its reference model
AFFECTED_BY_TRAINING = {"reid_checkpoint_baseline@synthetic", "generation_quality@synthetic", "reid_checkpoint_dlcr@synthetic",
                        "evaluation_reports@synthetic", "comparison_report@synthetic"}


def _run(args, cwd, timeout=600):
    result = subprocess.run(args, cwd=cwd, env=server_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout + result.stderr


def _ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def _clone(tmp_path: Path, params: dict | None = None) -> Path:
    """The repo's files (tracked or not ignored) in a new git repo, sharing the project venv."""
    clone = tmp_path / "clone"
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        if (REPO / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, clone / name)
    (clone / ".venv").symlink_to(REPO / ".venv")  # stages call .venv/bin/dlcr
    (clone / "dvc.lock").unlink(missing_ok=True)  # a fresh clone of tiny params: every stage is new
    write_params(clone / "params.yaml", params or tiny_params(shards=2))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    _run(["git", "init", "-q"], clone)
    if not (clone / ".dvc" / "config").is_file():
        _run([str(DVC), "init", "-q"], clone)
    _run([str(DVC), "remote", "add", "-f", "--local", "-d", "test", str(tmp_path / "remote")], clone)
    _run(["git", "add", "-A"], clone)
    _run([*git, "commit", "-qm", "clone"], clone)
    return clone


def test_dvc_repro_then_param_change_reruns_only_dependents_and_push_pull(tmp_path):
    clone = _clone(tmp_path)

    first = _run([str(DVC), "repro"], clone)
    assert _ran(first) == UNAFFECTED_BY_TRAINING | AFFECTED_BY_TRAINING
    # both shards generated, one after the other (the stage loops over generation.shards)
    # (each shard's part folder, the input digests its resume compares against, and its cached plan)
    assert {p.name for p in (clone / "data/generated_images/synthetic/manifest").iterdir()} == {
        "shard-0-of-2", "shard-1-of-2", "digests-0-of-2.parquet", "digests-1-of-2.parquet",
        "plan-0-of-2.parquet", "plan-1-of-2.parquet"}
    comparison = json.loads((clone / "data/comparison_report/synthetic/comparison.json").read_text())
    assert [row["method"] for row in comparison["rows"]] == ["baseline", "DLCR", "DLCR + refinement"]
    metrics = _run([str(DVC), "metrics", "show", "--json"], clone)
    assert "comparison.json" in metrics and "dlcr_refinement" in metrics and "cc_top1" in metrics
    assert "history.json" in _run([str(DVC), "plots", "show", "--json"], clone)
    assert _ran(_run([str(DVC), "repro"], clone)) == set()  # nothing changed: nothing runs

    # a training param change: only training and what follows it rerun
    _run(["git", "add", "-A"], clone)
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "first repro"], clone)
    second = _run([str(DVC), "exp", "run", "-S", "training.lr=0.0002"], clone)
    assert _ran(second) == AFFECTED_BY_TRAINING
    assert yaml.safe_load((clone / "params.yaml").read_text())["training"]["lr"] == 0.0002
    # a guidance setting while guidance is off: only the guided stage reruns (its empty expansion unchanged)
    third = _run([str(DVC), "exp", "run", "-S", "generation.discriminator_guidance.weight=2.0"], clone)
    assert _ran(third) == {"guided_images@synthetic"}

    # push the generated data to the local remote, lose it, pull it back
    _run([str(DVC), "push"], clone)
    generated = sorted(p.relative_to(clone) for p in (clone / "data/generated_images/synthetic").rglob("*.png"))
    assert generated
    shutil.rmtree(clone / "data" / "generated_images")
    shutil.rmtree(clone / ".dvc" / "cache")
    _run([str(DVC), "pull"], clone)
    assert sorted(p.relative_to(clone) for p in (clone / "data/generated_images/synthetic").rglob("*.png")) == generated
    assert "up to date" in _run([str(DVC), "status"], clone).lower()


@pytest.mark.timeout(1800)  # the tiny SD pipeline three times (first pass, discriminator latents, guided pass)
def test_dvc_repro_with_guidance_on_trains_dlcr_on_the_guided_expansion(tmp_path):
    """Guidance on (SPEC §1.5) under `dvc repro`, with the tiny SD inpainting pipeline: the discriminator
    trains on the first pass, the guided pass is written beside it, and DLCR trains on the guided one."""
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from dlcr_assets.discriminator import load_discriminator
    from dlcr_reid.training.tracking import table_sha256
    from tiny_vision_models import build_tiny_sd_inpainting

    params = tiny_params(shards=1)
    params["generation"].update(backend="diffusers", model_id=str(build_tiny_sd_inpainting(tmp_path / "model")),
                                steps=2)
    params["generation"]["discriminator_guidance"].update(enabled=True, weight=20.0, threshold=0)
    params["discriminator"].update(width=32, height=64, channels=[16, 32], epochs=1, batch_size=16, eval_draws=1)
    params["tracking"]["uri"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    clone = _clone(tmp_path, params)

    ran = _ran(_run([str(DVC), "repro", "reid_checkpoint_dlcr@synthetic"], clone, timeout=1800))
    assert {"generated_images@synthetic", "discriminator@synthetic", "guided_images@synthetic",
            "reid_checkpoint_dlcr@synthetic"} <= ran
    data = clone / "data"
    assert load_discriminator(data / "discriminator" / "synthetic").config.use_mask
    assert not (data / "discriminator" / "synthetic" / "skipped.json").exists()
    first = pd.read_parquet(data / "generated_images" / "synthetic.parquet")
    guided = pd.read_parquet(data / "guided_images" / "synthetic.parquet")
    assert len(guided) == len(first) > 0 and (guided["status"] == "ok").all()
    assert all("guided_images" in path for path in guided["path"])
    pairs = first.merge(guided, on=["source_path", "variant"], suffixes=("", "_guided"))
    assert len(pairs) == len(first) and (pairs["seed"] != pairs["seed_guided"]).all()
    # DLCR trained on the guided expansion: its MLflow run names the guided manifest's hash
    client = MlflowClient(tracking_uri=params["tracking"]["uri"])
    experiment = client.get_experiment_by_name(params["tracking"]["experiment"])
    (run,) = [r for r in client.search_runs([experiment.experiment_id]) if r.data.params.get("mode") == "dlcr"]
    assert run.data.params["manifest_sha256"] == table_sha256(guided) != table_sha256(first)
