"""dvc.yaml's stages list exactly the files of the path layout (DatasetPaths.step_files)."""
from __future__ import annotations

from pathlib import Path

import yaml

from orchestration_helpers import REPO

# the dvc.yaml stages named by the layout (each stage is named as its step)
DVC_STAGES = ("dataset_index", "clothing_descriptions", "clothing_prompts", "clothing_masks", "generated_images",
              "discriminator", "guided_images", "query_variants", "reid_checkpoint_baseline", "generation_quality",
              "reid_checkpoint_dlcr", "evaluation_reports",
              "comparison_report")


def _entries(items) -> list[str]:
    return [next(iter(item)) if isinstance(item, dict) else item for item in items or []]


def test_dvc_stages_list_the_layouts_paths():
    """For the shipped params.yaml's dataset, each stage's deps/outs/metrics/plots are DatasetPaths'."""
    from dlcr_assets.params import load_params
    from dlcr_assets.layout import MODES, DatasetPaths

    params = load_params(REPO / "params.yaml")
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert set(DVC_STAGES) <= set(stages)
    for key, spec in params.datasets.items():
        paths = DatasetPaths(params.data_dir, key)

        def render(text: str) -> Path:
            return Path(text.replace("${data_dir}", str(params.data_dir)).replace("${key}", key)
                        .replace("${item.root}", str(spec.root)))

        for stage in DVC_STAGES:
            body = stages[stage]["do"]
            reads, writes = paths.step_files(stage)
            deps = [render(d) for d in _entries(body.get("deps"))]
            assert [d for d in deps if d != Path(spec.root)] == reads, f"{stage} deps"
            assert [render(o) for o in _entries(body.get("outs"))] == writes, f"{stage} outs"
        evaluation = stages["evaluation_reports"]["do"]
        assert [render(m) for m in _entries(evaluation["metrics"])] == [paths.evaluation_report(m)["json"] for m in MODES]
        report = stages["comparison_report"]["do"]
        assert [render(m) for m in _entries(report["metrics"])] == [paths.comparison_report["json"]]
        for mode in MODES:
            training = stages[f"reid_checkpoint_{mode}"]["do"]
            assert [render(p) for p in _entries(training["plots"])] == [paths.history_plot(mode)]
            copy = render(training["cmd"][1])
            assert str(copy) == f"cp {paths.history(mode)} {paths.history_plot(mode)}"


def test_unguided_stages_do_not_read_the_guidance_switch():
    """Switching guidance on reruns discriminator, guided images and DLCR training, never the first pass."""
    from dlcr_assets.params.generation import GenerationParams

    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    unguided = ["profile", *(f"generation.{key}" for key in GenerationParams.model_fields
                             if key != "discriminator_guidance")]
    for stage in ("generated_images", "query_variants"):
        assert stages[stage]["do"]["params"] == unguided, stage
    assert "generation" in stages["guided_images"]["do"]["params"]
    for stage in ("discriminator", "reid_checkpoint_dlcr"):
        assert "generation.discriminator_guidance.enabled" in stages[stage]["do"]["params"], stage
