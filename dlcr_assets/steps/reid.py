"""The ReID steps: training, evaluation and the comparison report."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from dlcr_assets.layout import MODES
from dlcr_assets.steps.common import StepRun, check_mode, dataset_format, layout, load_input
from dlcr_assets.steps.quality import kept_variants


def reid_checkpoint(params, dataset: str, mode: str, device: str = "auto", resume: bool = False,
             run_tags: dict[str, str] | None = None) -> StepRun:
    """Train ``mode`` (baseline: real images; dlcr: + the expansion) -> the checkpoint folder.

    The expansion is the guided pass's when generation.discriminator_guidance.enabled, else the first pass;
    with quality.filter only its kept variants (generation_quality), recorded on the MLflow run. The index
    and manifest are the run's MLflow dataset inputs; the selected checkpoint is registered as a new
    version of dlcr-<dataset>-<mode> (``extra["model_version"]``; None when not registered).
    """
    from dlcr_reid.training import train_reid

    paths = layout(params, dataset)
    check_mode(mode)
    index = load_input(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index")
    manifest = filtered = None
    if mode == "dlcr":
        from dlcr_assets.generation import merge_manifest

        is_guided = params.generation.discriminator_guidance.enabled
        folder, path = paths.expansion(is_guided)
        manifest = load_input(path, f"{'guided ' if is_guided else ''}generation manifest of dataset {dataset!r}",
                         "guided-images" if is_guided else "generated-images")
        if int(os.environ.get("RANK", "0")) == 0:  # under torchrun one process writes
            # re-merge: shards that finished side by side may each have merged before the other
            manifest = merge_manifest(folder, path)
        manifest, filtered = kept_variants(params, paths, manifest, f"DLCR training of {dataset}")
    sources = {"index": str(paths.dataset_index.resolve())}
    if manifest is not None:
        sources["manifest"] = str(path.resolve())
    result = train_reid(index, manifest, params.training, params.evaluation, params.tracking,
                        paths.reid_checkpoint(mode), mode, resume=resume, device=device, run_tags=run_tags,
                        dataset_format=dataset_format(params, dataset), data_sources=sources)
    version = None
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun one process records
        if mode == "dlcr" and filtered is not None:
            from dlcr_assets.quality.filtering import record_filter

            record_filter(params.tracking, result.mlflow_run_id, filtered,
                          params.quality.checkpoint or paths.best_checkpoint("baseline"))
        if params.tracking.register_model:
            from dlcr_reid.registry import model_name, register_checkpoint

            folder = paths.reid_checkpoint(mode)
            version = register_checkpoint(params.tracking, result.mlflow_run_id, folder / "best.safetensors",
                                          folder / "config.json", model_name(dataset, mode),
                                          {"dataset": dataset, "mode": mode,
                                           "selection": str(result.selection.get("rule")),
                                           "selected_epoch": str(result.selection.get("epoch"))})
    return StepRun(result, paths, {"manifest": manifest, "quality": filtered if mode == "dlcr" else None,
                                   "model_version": version})


def evaluation_reports(params, dataset: str, mode: str, device: str = "auto", refine: bool | None = None,
               checkpoint: Path | None = None) -> StepRun:
    """Score ``mode``'s checkpoint on the dataset's protocols -> evaluation_reports/<dataset>/<mode>.{json,md,-cmc.png}.

    ``refine`` None keeps evaluation.refinement.enabled; refinement needs the query variants (with
    quality.filter only the kept ones). The registered version holding the checkpoint is tagged with
    its (unrefined) CC top-1 and becomes ``champion`` of dlcr-<dataset>-<mode> when it beats the
    current one (``extra["champion"]``).
    """
    from dlcr_reid.evaluation import evaluate_checkpoint

    paths = layout(params, dataset)
    check_mode(mode)
    section = params.evaluation
    if refine is not None:
        section = section.model_copy(update={"refinement": section.refinement.model_copy(update={"enabled": refine})})
    index = load_input(paths.dataset_index, f"index of dataset {dataset!r}", "dataset-index")
    variants = None
    if section.refinement.enabled and paths.query_variants.is_file():
        variants = load_input(paths.query_variants, "query variants", "query-variants")
        variants, _ = kept_variants(params, paths, variants, f"refinement of {dataset}")
    checkpoint = checkpoint or paths.best_checkpoint(mode)
    report = evaluate_checkpoint(checkpoint, index, section, paths.evaluation_reports_dir, variants,
                                 device, name=mode, dataset_format_name=dataset_format(params, dataset))
    champion = None
    if params.tracking.register_model:  # the registered version of this checkpoint takes `champion` if it is better
        from dlcr_reid.registry import model_name, promote

        champion = promote(params.tracking, model_name(dataset, mode), checkpoint, report)
    return StepRun(report, paths, {"refined": variants is not None, "variants": variants, "champion": champion})


def comparison_report(params, dataset: str, stage_seconds: dict[str, float] | None = None) -> StepRun:
    """Baseline vs DLCR vs DLCR + refinement -> comparison_report/<dataset>/comparison.{md,json,png}, samples.png."""
    import json

    from dlcr_assets.report import write_comparison_report

    paths = layout(params, dataset)
    reports = {}
    for mode in MODES:
        path = paths.evaluation_report(mode)["json"]
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; run `dlcr evaluation-reports --dataset {dataset} --mode {mode}` first")
        reports[mode] = json.loads(path.read_text())
    manifest = pd.read_parquet(paths.generated_images) if paths.generated_images.is_file() else None
    summary = write_comparison_report(dataset, reports["baseline"], reports["dlcr"], paths.comparison_report_dir, manifest,
                                      stage_seconds)
    return StepRun(summary, paths, {"manifest": manifest})
