"""One call per step: the `dlcr` command (as DVC runs it) and the step function (as the Dagster asset
calls it) write the same files.

Each step runs first as a `dlcr` subprocess; its outputs are read, deleted, and written again by
``dlcr_assets.steps`` in this process with params loaded through the Dagster ``ParamsResource``.
Tables are compared as frames, every other file (PNG images, masks, checkpoints) byte for byte.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from orchestration_helpers import VENV_BIN, server_env, tiny_params, write_params

DATASET = "synthetic"


def _volatile(key: str) -> bool:
    """Keys that say when or how fast, not what (wall times, rates, timestamps)."""
    return isinstance(key, str) and (key == "created" or "seconds" in key or key.endswith("_per_s") or key.startswith("s_per_"))


def _dlcr(params_path: Path, *args: str) -> str:
    done = subprocess.run([str(VENV_BIN / "dlcr"), *args, "--params", str(params_path)], cwd=params_path.parent,
                          env=server_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"dlcr {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _files(paths: list[Path]) -> dict[str, object]:
    """Every file under ``paths``: parquet as a frame, JSON without timings, the rest as bytes."""
    found: dict[str, object] = {}
    for top in paths:
        for file in sorted([top] if top.is_file() else top.rglob("*")):
            if not file.is_file():
                continue
            if file.suffix == ".parquet" and file.parent.parent.name == "manifest":
                # a shard's part files hold rows in the order the worker threads finished them
                found[str(file)] = pd.read_parquet(file).sort_values(["source_path", "variant"], ignore_index=True)
            elif file.suffix == ".parquet":
                found[str(file)] = pd.read_parquet(file)
            elif file.suffix == ".json":
                found[str(file)] = _without_timings(json.loads(file.read_text()))
            elif file.suffix == ".pt":
                # torch.save names its zip records after the (temporary) file: compare what it holds
                import torch

                found[str(file)] = _Same(torch.load(file, map_location="cpu", weights_only=False))
            elif file.suffix == ".md":
                found[str(file)] = [line for line in file.read_text().splitlines() if "created" not in line]
            else:
                found[str(file)] = file.read_bytes()
    return found


class _Same:
    """A loaded torch object compared by value: tensors exactly, containers element by element."""

    def __init__(self, value):
        self.value = value

    def __eq__(self, other) -> bool:
        return _difference(self.value, other.value) is None

    def __repr__(self) -> str:
        return f"<{type(self.value).__name__}>"


def _difference(a, b, where: str = "") -> str | None:
    """Where two loaded torch objects first differ (None when equal)."""
    import torch

    if isinstance(a, torch.Tensor):
        same = isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
        return None if same else where
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return f"{where} (keys)"
        return next((d for k in a if not _volatile(k)
                     for d in [_difference(a[k], b[k], f"{where}.{k}")] if d), None)
    if isinstance(a, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            return f"{where} (length)"
        return next((d for i, (x, y) in enumerate(zip(a, b)) for d in [_difference(x, y, f"{where}[{i}]")] if d), None)
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "[{" and b[:1] in "[{":
        a, b = json.loads(a), json.loads(b)  # a JSON text (the history) kept in the state
    return None if _without_timings(a) == _without_timings(b) else f"{where}: {a!r} != {b!r}"[:300]


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not _volatile(k)}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _assert_same(cli: dict, step: dict, what: str) -> None:
    assert sorted(cli) == sorted(step), f"{what}: different files"
    assert cli, f"{what}: wrote nothing"
    for name, expected in cli.items():
        if isinstance(expected, pd.DataFrame):
            got = step[name]
            pd.testing.assert_frame_equal(expected, got, obj=name)
        else:
            detail = _difference(expected.value, step[name].value) if isinstance(expected, _Same) else ""
            assert expected == step[name], f"{what}: {name} differs {detail}"


def _both_ways(written: list[Path], cli_runs, step_runs, what: str) -> dict:
    for run in cli_runs:
        run()
    cli = _files(written)
    for path in written:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for run in step_runs:
        run()
    step = _files(written)
    _assert_same(cli, step, what)
    return cli


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Tiny params (tracking off), the synthetic dataset drawn, params loaded as the assets load them."""
    from dagster_project.resources import ParamsResource

    root = tmp_path_factory.mktemp("parity")
    values = tiny_params(absolute_to=root, shards=2)
    values["tracking"]["enabled"] = False
    params_path = write_params(root / "params.yaml", values)
    _dlcr(params_path, "synthetic-dataset")
    return params_path, ParamsResource(path=str(params_path)).load()


def test_data_and_generation_steps_match_their_commands(project):
    from dlcr_assets import steps

    params_path, params = project
    paths = steps.layout(params, DATASET)
    shards = int(params.generation.shards)
    cases = [
        ("dataset_index", ["dataset-index", "--dataset", DATASET], lambda: steps.dataset_index(params, DATASET)),
        ("clothing_descriptions", ["clothing-descriptions", "--dataset", DATASET, "--device", "cpu"],
         lambda: steps.clothing_descriptions(params, DATASET, "cpu")),
        ("clothing_prompts", ["clothing-prompts", "--dataset", DATASET, "--device", "cpu"], lambda: steps.clothing_prompts(params, DATASET, "cpu")),
        ("clothing_masks", ["clothing-masks", "--dataset", DATASET, "--device", "cpu"], lambda: steps.clothing_masks(params, DATASET, "cpu")),
        ("query_variants", ["query-variants", "--dataset", DATASET, "--device", "cpu"],
         lambda: steps.query_variants(params, DATASET, "cpu")),
    ]
    for step, args, call in cases:
        _both_ways(paths.step_files(step)[1], [lambda args=args: _dlcr(params_path, *args)], [call], step)
    # generated images: every shard in turn, as dvc.yaml's stage loops over them
    generated = _both_ways(
        paths.step_files("generated_images")[1],
        [lambda k=k: _dlcr(params_path, "generated-images", "--dataset", DATASET, "--shard", f"{k}/{shards}", "--device", "cpu")
         for k in range(shards)],
        [lambda k=k: steps.generated_images(params, DATASET, (k, shards), "cpu") for k in range(shards)],
        "generated_images",
    )
    manifest = generated[str(paths.generated_images)]
    assert (manifest["status"] == "ok").sum() > 0
    assert sum(name.endswith(".png") for name in generated) == (manifest["status"] == "ok").sum()


def test_training_and_evaluation_steps_match_their_commands(project):
    """One tiny epoch of the baseline, then its evaluation without refinement (dvc.yaml's baseline row)."""
    import torch

    from dlcr_assets import steps

    params_path, params = project
    paths = steps.layout(params, DATASET)
    if not paths.dataset_index.is_file():
        _dlcr(params_path, "dataset-index", "--dataset", DATASET)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the subprocess runs with OMP_NUM_THREADS=1: the same kernels, the same sums
    try:
        trained = _both_ways(
            [paths.reid_checkpoint("baseline")],
            [lambda: _dlcr(params_path, "reid-checkpoint", "--dataset", DATASET, "--mode", "baseline", "--device", "cpu")],
            [lambda: steps.reid_checkpoint(params, DATASET, "baseline", "cpu")], "reid_checkpoint")
        assert str(paths.best_checkpoint("baseline")) in trained
        _both_ways(
            [paths.evaluation_report("baseline")[kind] for kind in ("json", "markdown", "cmc_png")],
            [lambda: _dlcr(params_path, "evaluation-reports", "--dataset", DATASET, "--mode", "baseline", "--no-refine",
                           "--device", "cpu")],
            [lambda: steps.evaluation_reports(params, DATASET, "baseline", "cpu", refine=False)], "evaluation_reports")
    finally:
        torch.set_num_threads(threads)


def test_steps_refuse_bad_names_modes_and_shards(project):
    from dlcr_assets import steps
    from dlcr_assets.errors import StepInputError

    _, params = project
    with pytest.raises(StepInputError, match="dataset"):
        steps.clothing_prompts(params, "Bad Name")
    with pytest.raises(StepInputError, match="baseline, dlcr"):
        steps.reid_checkpoint(params, DATASET, "both")
    with pytest.raises(StepInputError, match="0 <= k < n"):
        steps.generated_images(params, DATASET, (2, 2))
    with pytest.raises(StepInputError, match="k/n"):
        steps.parse_shard("one", 2)


def test_masks_command_mirrors_parsing_maps_from_the_registered_root(tmp_path):
    """`dlcr clothing-masks` looks for label maps relative to the dataset's registered root, as the asset does.

    The root here is the folder around the release (LTCC_ReID/ inside it); the images' common
    folder, which the command used before, would put every map one level off.
    """
    import numpy as np
    from PIL import Image

    from dlcr_reid.io import save_table

    root, maps = tmp_path / "release", tmp_path / "parsing"
    rows = []
    for number, split in enumerate(["train", "train", "query"]):
        image = root / "LTCC_ReID" / split / f"00{number}_1_c1_00{number}.png"
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((16, 8, 3), 120, np.uint8)).save(image)
        labels = np.zeros((16, 8), np.uint8)
        labels[4:12] = 5  # LIP 5: upper clothes
        target = maps / image.relative_to(root).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(labels).save(target)
        rows.append(dict(path=str(image), pid=number, camid=0, clothes_id=number, split=split))
    values = tiny_params(absolute_to=tmp_path)
    values["datasets"] = {"toy": {"format": "ltcc", "root": str(root)}}
    values["masks"]["parsing_root"] = str(maps)
    params_path = write_params(tmp_path / "params.yaml", values)
    save_table(pd.DataFrame(rows), tmp_path / "data" / "dataset_index" / "toy.parquet")
    _dlcr(params_path, "clothing-masks", "--dataset", "toy", "--device", "cpu")
    table = pd.read_parquet(tmp_path / "data" / "clothing_masks" / "toy.parquet")
    assert table["status"].tolist() == ["ok"] * 3, table["error"].tolist()


def test_evaluate_takes_a_watched_folders_detected_format_not_its_name(tmp_path):
    """A folder dropped under the watch root (not in params.yaml) is scored by its detected layout.

    The folder is the synthetic (LTCC-shaped) layout but named "prcc": inferring the format from the
    name, as the command did, applied PRCC's protocols.
    """
    from dlcr_assets import steps
    from dlcr_assets.params import load_params
    from dlcr_reid.evaluation.protocols import normalize_format
    from test_evaluation_report import save_cal_checkpoint

    values = tiny_params(absolute_to=tmp_path)
    values["datasets"] = {}
    params_path = write_params(tmp_path / "params.yaml", values)
    watched = Path(values["orchestration"]["watch_root"]) / "prcc"
    _dlcr(params_path, "synthetic-dataset", "--root", str(watched))
    params = load_params(params_path)
    assert steps.dataset_format(params, "prcc") == "synthetic"
    steps.dataset_index(params, "prcc")
    save_cal_checkpoint(steps.layout(params, "prcc").best_checkpoint("baseline"))
    _dlcr(params_path, "evaluation-reports", "--dataset", "prcc", "--mode", "baseline", "--no-refine", "--device", "cpu")
    report = json.loads(steps.layout(params, "prcc").evaluation_report("baseline")["json"].read_text())
    assert report["format"] == normalize_format("synthetic") != "prcc" and "cc" in report["protocols"]
