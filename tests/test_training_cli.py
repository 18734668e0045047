"""`dlcr reid-checkpoint` end to end on a tiny dataset written where params.yaml's data_dir points."""

import yaml
from typer.testing import CliRunner

from dlcr_assets.cli import app
from dlcr_reid.io import save_table
from training_support import make_index, make_manifest


def test_dlcr_train_command_writes_checkpoints_and_resumes(tmp_path):
    data_dir = tmp_path / "data"
    index = make_index(tmp_path / "raw")
    save_table(index, data_dir / "dataset_index" / "tiny.parquet")
    save_table(make_manifest(index, data_dir / "generated_images" / "tiny"), data_dir / "generated_images" / "tiny.parquet")
    params = {
        "data_dir": str(data_dir),
        "training": dict(backbone="resnet18", height=32, width=16, ids_per_batch=2, images_per_id=2, epochs=1,
                         milestones=[1], max_steps_per_epoch=1, eval_every=0, min_steps=None),
        "tracking": {"enabled": False},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    runner = CliRunner()
    args = ["reid-checkpoint", "--dataset", "tiny", "--mode", "dlcr", "--device", "cpu", "--params", str(tmp_path / "params.yaml")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = data_dir / "reid_checkpoint" / "tiny" / "dlcr"
    assert {"best.safetensors", "best.json", "epoch-001.safetensors", "epoch-001.json"} <= {p.name for p in out.iterdir()}
    assert "selected checkpoint (training.selection=last, epoch 1)" in result.output
    # resuming a finished run trains nothing more and keeps its checkpoint
    result = runner.invoke(app, args + ["--resume"])
    assert result.exit_code == 0, result.output
    missing = runner.invoke(app, ["reid-checkpoint", "--dataset", "absent", "--params", str(tmp_path / "params.yaml")])
    assert missing.exit_code != 0 and isinstance(missing.exception, FileNotFoundError)
