"""Which datasets exist: params.yaml's `datasets` plus folders dropped under the watch root.

The Dagster sensor turns a new folder under ``orchestration.watch_root`` into a partition key;
every later step has to get from that key back to a ``DatasetSpec``. That mapping lives here,
once, so the sensor, the assets and the CLI agree on it.
"""
from __future__ import annotations

import re
from pathlib import Path

from dlcr_reid.params import DatasetSpec, check_dataset_name

_UNSAFE_RUN = re.compile(r"[^a-z0-9_-]+")


def sanitize_dataset_name(folder_name: str) -> str:
    """Turn a folder name into a dataset name / partition key matching [a-z0-9_-]+.

    "LTCC_ReID" -> "ltcc_reid", "VC Clothes (v2)" -> "vc_clothes_v2". Raises ValueError when
    nothing usable is left (e.g. a name made only of punctuation).
    """
    name = _UNSAFE_RUN.sub("_", folder_name.strip().lower()).strip("_-")
    if not name:
        raise ValueError(f"folder name {folder_name!r} has no letters or digits to name a dataset")
    return check_dataset_name(name)


def watched_folders(watch_root: Path) -> dict[str, Path]:
    """Sanitised name -> folder for each sub-folder of ``watch_root`` (hidden ones ignored)."""
    folders: dict[str, Path] = {}
    if not Path(watch_root).is_dir():
        return folders
    for folder in sorted(Path(watch_root).iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        try:
            folders.setdefault(sanitize_dataset_name(folder.name), folder)
        except ValueError:
            continue
    return folders


def resolve_dataset(params, name: str) -> DatasetSpec:
    """The DatasetSpec of ``name``: from params.yaml if registered there, else detected on disk.

    ``params`` is the root ``Params``. A name that params.yaml does not know is looked up among the
    folders under ``params.orchestration.watch_root`` (by sanitised folder name) and its format is
    detected from the layout. Raises KeyError naming both places when neither has it.
    """
    if name in params.datasets:
        return params.datasets[name]
    from dlcr_reid.datasets import detect_format  # late: keeps `dlcr --help` light

    watch_root = Path(params.orchestration.watch_root)
    folder = watched_folders(watch_root).get(name)
    if folder is None:
        raise KeyError(
            f"dataset {name!r} is neither in params.yaml datasets {sorted(params.datasets)} "
            f"nor a folder under {watch_root}"
        )
    return DatasetSpec(format=detect_format(folder), root=folder)


def registered_dataset_names(params, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """params.yaml's dataset names plus ``extra`` (e.g. partition keys a sensor added), sorted, unique."""
    return sorted(set(params.datasets) | set(extra))


# The checkpoint evaluation reads by default; training writes it beside epoch-XXX.safetensors.
BEST_CHECKPOINT = "best.safetensors"
MODES = ("baseline", "dlcr")


class DatasetPaths:
    """Where each step's files for dataset ``name`` live under ``data_dir``: the one path layout.

    The `dlcr` commands, the Dagster assets and checks, the demo and dvc.yaml's deps/outs all take
    their paths from here (tests/test_steps_layout.py holds dvc.yaml to ``step_files``).
    """

    def __init__(self, data_dir: str | Path, name: str):
        self.data_dir = Path(data_dir)
        self.name = check_dataset_name(name)

    def _at(self, folder: str, suffix: str = "") -> Path:
        return self.data_dir / folder / f"{self.name}{suffix}"

    # each folder is named as its step (asset, DVC stage, `dlcr` command with dashes)
    @property
    def dataset_index(self) -> Path:
        return self._at("dataset_index", ".parquet")

    @property
    def clothing_descriptions(self) -> Path:
        return self._at("clothing_descriptions", ".parquet")

    @property
    def clothing_prompts(self) -> Path:
        return self._at("clothing_prompts", ".parquet")

    @property
    def clothing_masks_dir(self) -> Path:
        return self._at("clothing_masks")

    @property
    def clothing_masks(self) -> Path:
        return self._at("clothing_masks", ".parquet")

    @property
    def generated_images_dir(self) -> Path:
        return self._at("generated_images")

    @property
    def generated_images(self) -> Path:
        return self._at("generated_images", ".parquet")

    @property
    def discriminator_dir(self) -> Path:
        """The `dlcr discriminator` folder (weights + config.json): the guided pass's default discriminator."""
        return self._at("discriminator")

    @property
    def guided_images_dir(self) -> Path:
        """The guided expansion (SPEC §1.5): its own folder, never over the first pass's."""
        return self._at("guided_images")

    @property
    def guided_images(self) -> Path:
        return self._at("guided_images", ".parquet")

    def expansion(self, guided: bool) -> tuple[Path, Path]:
        """(folder, manifest) of the expansion DLCR training reads: the guided one when guidance is on."""
        return (self.guided_images_dir, self.guided_images) if guided else (self.generated_images_dir,
                                                                            self.generated_images)

    def generated_images_shard_parts(self, shard: int, shards: int) -> Path:
        """The folder of one shard's manifest parts (the engine merges them into ``generated_images``)."""
        return self.generated_images_dir / "manifest" / f"shard-{shard}-of-{shards}"

    @property
    def query_variants_dir(self) -> Path:
        return self._at("query_variants")

    @property
    def query_variants(self) -> Path:
        return self._at("query_variants", ".parquet")

    @property
    def generation_quality_dir(self) -> Path:
        """The quality step's folder: features/<checkpoint sha256>.npz (the cache) and histograms/<score>.png."""
        return self._at("generation_quality")

    @property
    def generation_quality(self) -> Path:
        """One row per generated image (expansion and query variants): scores, kept, reason."""
        return self._at("generation_quality", ".parquet")

    def reid_checkpoint(self, mode: str) -> Path:
        """The checkpoint folder of ``mode`` (epoch-XXX and best checkpoints, history)."""
        return self._at("reid_checkpoint") / mode

    def best_checkpoint(self, mode: str) -> Path:
        """The checkpoint of ``mode`` that evaluation scores (training's best)."""
        return self.reid_checkpoint(mode) / BEST_CHECKPOINT

    def history(self, mode: str) -> Path:
        """Training's per-epoch history (inside the checkpoint folder)."""
        return self.reid_checkpoint(mode) / "history.json"

    def history_plot(self, mode: str) -> Path:
        """The history copied beside the checkpoint folder: a DVC plot cannot live inside an out."""
        return self._at("reid_checkpoint") / f"{mode}-history.json"

    @property
    def evaluation_reports_dir(self) -> Path:
        return self._at("evaluation_reports")

    def evaluation_report(self, mode: str) -> dict[str, Path]:
        """The evaluation report files of ``mode``: json, markdown, cmc_png."""
        from dlcr_reid.evaluation.report import report_paths  # late: keeps `dlcr --help` light

        return report_paths(self.evaluation_reports_dir, mode)

    @property
    def comparison_report_dir(self) -> Path:
        return self._at("comparison_report")

    @property
    def comparison_report(self) -> dict[str, Path]:
        """The comparison report files: json, markdown, chart, samples."""
        folder = self.comparison_report_dir
        return {"json": folder / "comparison.json", "markdown": folder / "comparison.md",
                "chart": folder / "comparison.png", "samples": folder / "samples.png"}

    def step_files(self, step: str) -> tuple[list[Path], list[Path]]:
        """(files read, files written) of one pipeline step (named as its DVC stage), as dvc.yaml lists them.

        The dataset's own folder (a dep of index, descriptions and masks) is not under data_dir and
        is left out; so are DVC's plots and metrics, which the test compares separately.
        """
        report = {mode: self.evaluation_report(mode) for mode in MODES}
        generation_inputs = [self.dataset_index, self.clothing_masks, self.clothing_masks_dir, self.clothing_prompts]
        files = {
            "dataset_index": ([], [self.dataset_index]),
            "clothing_descriptions": ([self.dataset_index], [self.clothing_descriptions]),
            "clothing_prompts": ([self.clothing_descriptions], [self.clothing_prompts]),
            "clothing_masks": ([self.dataset_index], [self.clothing_masks_dir, self.clothing_masks]),
            "generated_images": (generation_inputs, [self.generated_images_dir, self.generated_images]),
            "discriminator": ([self.dataset_index, self.clothing_masks, self.clothing_masks_dir, self.generated_images,
                               self.generated_images_dir], [self.discriminator_dir]),
            "guided_images": ([*generation_inputs, self.discriminator_dir], [self.guided_images_dir, self.guided_images]),
            "query_variants": (generation_inputs, [self.query_variants_dir, self.query_variants]),
            "reid_checkpoint_baseline": ([self.dataset_index], [self.reid_checkpoint("baseline")]),
            # the reference model is the baseline by default (quality.checkpoint)
            "generation_quality": ([self.dataset_index, self.clothing_masks, self.clothing_masks_dir,
                                    self.generated_images, self.generated_images_dir, self.guided_images,
                                    self.guided_images_dir, self.query_variants, self.query_variants_dir,
                                    self.reid_checkpoint("baseline")],
                                   [self.generation_quality_dir, self.generation_quality]),
            "reid_checkpoint_dlcr": ([self.dataset_index, self.generated_images, self.generated_images_dir,
                                      self.guided_images, self.guided_images_dir, self.generation_quality],
                                     [self.reid_checkpoint("dlcr")]),
            "evaluation_reports": ([self.dataset_index, self.reid_checkpoint("baseline"), self.reid_checkpoint("dlcr"),
                                    self.query_variants, self.query_variants_dir, self.generation_quality],
                                   [path for mode in MODES for path in (report[mode]["markdown"], report[mode]["cmc_png"])]),
            "comparison_report": ([report["baseline"]["json"], report["dlcr"]["json"], self.generated_images],
                       [self.comparison_report["markdown"], self.comparison_report["chart"], self.comparison_report["samples"]]),
        }
        if step not in files:
            raise KeyError(f"unknown step {step!r}; steps: {sorted(files)}")
        return files[step]
