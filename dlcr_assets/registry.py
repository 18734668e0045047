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


class DatasetPaths:
    """Where each step's files for dataset ``name`` live under ``data_dir`` (the contract's layout)."""

    def __init__(self, data_dir: str | Path, name: str):
        self.data_dir = Path(data_dir)
        self.name = check_dataset_name(name)

    def _at(self, folder: str, suffix: str = "") -> Path:
        return self.data_dir / folder / f"{self.name}{suffix}"

    @property
    def index(self) -> Path:
        return self._at("index", ".parquet")

    @property
    def descriptions(self) -> Path:
        return self._at("descriptions", ".parquet")

    @property
    def prompts(self) -> Path:
        return self._at("prompts", ".parquet")

    @property
    def masks_dir(self) -> Path:
        return self._at("masks")

    @property
    def masks(self) -> Path:
        return self._at("masks", ".parquet")

    @property
    def generated_dir(self) -> Path:
        return self._at("generated")

    @property
    def generated(self) -> Path:
        return self._at("generated", ".parquet")

    @property
    def query_variants_dir(self) -> Path:
        return self._at("query_variants")

    @property
    def query_variants(self) -> Path:
        return self._at("query_variants", ".parquet")

    def checkpoints(self, mode: str) -> Path:
        return self._at("checkpoints") / mode

    @property
    def reports_dir(self) -> Path:
        return self._at("reports")
