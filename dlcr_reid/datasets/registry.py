"""Format registry: name -> loader, layout detection, and ``index_dataset`` (the indexing step).

A loader is ``loader(root: Path, options: dict) -> DataFrame`` returning at least
``path, split, pid_raw, clothes_raw, camid`` (see ``table.finalize_table``); ``index_dataset``
relabels its rows by SPEC §2 and stamps the dataset name. Users add formats with
``register_format(name, loader, detect=..., layout=...)``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from pydantic import ValidationError

from dlcr_reid.datasets import ccvid, deepchange, last, ltcc, prcc, synthetic, vcclothes
from dlcr_reid.datasets.table import IMAGE_SUFFIXES, finalize_table, is_finalized, restamp
from dlcr_reid.errors import DatasetLayoutError
from dlcr_reid.params.base import check_dataset_name

Loader = Callable[[Path, dict[str, Any]], pd.DataFrame]
Detector = Callable[[Path], bool]

FORMATS: dict[str, Loader] = {
    "prcc": prcc.load_prcc,
    "ltcc": ltcc.load_ltcc,
    "vcclothes": vcclothes.load_vcclothes,
    "ccvid": ccvid.load_ccvid,
    "last": last.load_last,
    "deepchange": deepchange.load_deepchange,
    "synthetic": synthetic.load_synthetic,
}
LAYOUTS: dict[str, str] = {
    "prcc": prcc.LAYOUT,
    "ltcc": ltcc.LAYOUT,
    "vcclothes": vcclothes.LAYOUT,
    "ccvid": ccvid.LAYOUT,
    "last": last.LAYOUT,
    "deepchange": deepchange.LAYOUT,
    "synthetic": synthetic.LAYOUT,
}
BUILTIN_FORMATS = frozenset(FORMATS)
# Options models: unknown option keys or bad values fail at params validation time.
OPTIONS: dict[str, type] = {"vcclothes": vcclothes.VCClothesOptions}


def _first_files(folder: Path, limit: int = 20) -> list[str]:
    """A few image names in ``folder`` (detection peeks at names, it never lists a whole folder)."""
    names = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.lower().endswith(IMAGE_SUFFIXES):
                    names.append(entry.name)
                    if len(names) >= limit:
                        break
    except OSError:
        return []
    return names


def _candidates(root: Path, folder_names: tuple[str, ...]) -> list[Path]:
    return [root, *(root / name for name in folder_names)]


def _names_match(folder: Path, pattern: str) -> bool:
    names = _first_files(folder)
    return bool(names) and any(re.match(pattern, name) for name in names)


def _is_ltcc_layout(folder: Path) -> bool:
    return all((folder / split).is_dir() for split in ltcc.SPLIT_FOLDERS) and any(
        _names_match(folder / split, ltcc.NAME_PATTERN) for split in ltcc.SPLIT_FOLDERS
    )


def _detect_synthetic(root: Path) -> bool:
    return any(_is_ltcc_layout(c) and (c / synthetic.PARSING_FOLDER).is_dir()
               for c in _candidates(root, synthetic.FOLDER_NAMES + ltcc.FOLDER_NAMES))


def _detect_ltcc(root: Path) -> bool:
    return any(_is_ltcc_layout(c) for c in _candidates(root, ltcc.FOLDER_NAMES))


def _detect_vcclothes(root: Path) -> bool:
    return any(
        all((c / split).is_dir() for split in vcclothes.SPLIT_FOLDERS)
        and any(_names_match(c / split, vcclothes.NAME_PATTERN) for split in vcclothes.SPLIT_FOLDERS)
        for c in _candidates(root, vcclothes.FOLDER_NAMES)
    )


def _detect_prcc(root: Path) -> bool:
    return any(
        (c / "train").is_dir() and all((c / "test" / cam).is_dir() for cam in prcc.CAMERAS)
        for c in _candidates(root, prcc.FOLDER_NAMES + ("prcc",))
    )


def _detect_ccvid(root: Path) -> bool:
    return any(all((c / name).is_file() for name in ccvid.SPLIT_LISTS) for c in _candidates(root, ccvid.FOLDER_NAMES))


def _detect_last(root: Path) -> bool:
    return any(
        (c / "train").is_dir() and (c / "test" / "query").is_dir() and (c / "test" / "gallery").is_dir()
        for c in _candidates(root, last.FOLDER_NAMES)
    )


def _detect_deepchange(root: Path) -> bool:
    return any(
        (c / "train-set").is_dir() and (c / "train-set-bbox.txt").is_file()
        for c in _candidates(root, deepchange.FOLDER_NAMES)
    )


# Order matters: synthetic is LTCC plus parsing/, so it is tried before LTCC.
DETECTORS: dict[str, Detector] = {
    "synthetic": _detect_synthetic,
    "ltcc": _detect_ltcc,
    "vcclothes": _detect_vcclothes,
    "prcc": _detect_prcc,
    "ccvid": _detect_ccvid,
    "last": _detect_last,
    "deepchange": _detect_deepchange,
}


def register_format(
    name: str,
    loader: Loader,
    detect: Detector | None = None,
    layout: str | None = None,
    options: type | None = None,
    replace: bool = False,
) -> None:
    """Add a user format: ``loader(root, options)`` returns at least path/split/pid_raw/clothes_raw/camid.

    ``detect(root) -> bool`` lets ``detect_format`` recognise it (user formats are tried first);
    ``layout`` is quoted in error messages; ``options`` is a pydantic model validating its options.
    """
    check_dataset_name(name)
    if name in FORMATS and not replace:
        raise ValueError(f"format {name!r} is already registered; pass replace=True to override it")
    FORMATS[name] = loader
    LAYOUTS[name] = layout or f"{name}: user-registered format"
    if options is not None:
        OPTIONS[name] = options
    if detect is not None:
        others = {key: value for key, value in DETECTORS.items() if key != name}
        DETECTORS.clear()
        DETECTORS.update({name: detect, **others})


def detect_format(root: str | Path) -> str:
    """The format whose layout ``root`` follows, or DatasetLayoutError saying why none matched."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetLayoutError(f"cannot detect a dataset format: {root} is not a folder")
    for name, detect in DETECTORS.items():
        if detect(root):
            return name
    expected = "; ".join(f"{name}: {LAYOUTS[name]}" for name in DETECTORS)
    raise DatasetLayoutError(f"{root} matches no known dataset layout; expected one of: {expected}")


def validate_options(fmt: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check a format's options (params validation calls this); formats without a model take none."""
    model = OPTIONS.get(fmt)
    if model is None:
        if options and fmt in BUILTIN_FORMATS:
            raise ValueError(f"format {fmt!r} takes no options, got {sorted(options)}")
        return options
    try:
        return model.model_validate(options).model_dump()
    except ValidationError as error:
        problems = "; ".join(
            f"options.{'.'.join(str(p) for p in item['loc'])}: {item['msg']} (got {item.get('input')!r})"
            for item in error.errors()
        )
        raise ValueError(problems) from None


def index_dataset(name: str, spec: Any) -> pd.DataFrame:
    """Index dataset ``name`` described by ``spec`` (a DatasetSpec: format, root, options).

    Reads file and folder names only (never pixels). ``attrs["unmatched"]`` lists the files no
    naming rule matched. Raises ValueError for an unsafe name and DatasetLayoutError for a root
    that does not follow the format's layout (the message quotes that layout).
    """
    check_dataset_name(name)
    if spec.format not in FORMATS:
        raise DatasetLayoutError(f"unknown dataset format {spec.format!r}; registered: {sorted(FORMATS)}")
    root = Path(spec.root).expanduser()
    if not root.is_dir():
        raise DatasetLayoutError(
            f"dataset {name!r}: root {root} does not exist; expected layout ({spec.format}): {LAYOUTS[spec.format]}"
        )
    table = FORMATS[spec.format](root, dict(spec.options or {}))
    # Built-in loaders return finished tables; a user loader may return raw rows.
    return restamp(table, name) if is_finalized(table) else finalize_table(table, name)
