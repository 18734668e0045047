"""Which evaluation protocols run on which dataset (SPEC §1.7).

* PRCC: ``sc`` = camera B queries (split ``query_same``) vs the camera A gallery; ``cc`` = camera C
  queries (``query_diff``) vs the same gallery (multi-shot: the whole A gallery).
* LTCC, VC-Clothes, CCVID, synthetic and formats we do not know: ``general``, ``cc`` and ``sc``,
  queries ``query`` vs ``gallery``.
* LaST: ``general`` only (every test image is its own camera).
* DeepChange: ``general`` only; its tracklet id plays the camera's role (the index's camid).

The format is the dataset's loader (params.yaml's ``format``, or detected from its folder by the
caller; a checkpoint records the one it was trained with). Without it, it is read from the index's
content, never from the dataset's registered name (a LaST set registered as ``last-test`` is still
LaST): ``query_same``/``query_diff`` splits mean PRCC; every test image on its own camera is the
LaST convention (general only: same-camera filtering, hence CC/SC, means nothing there).

Validation rows (``val_query``/``val_gallery``, read as query/gallery) follow ``validation_format``:
the general-only formats keep general only; the others get general, CC and SC.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dlcr_reid.errors import ReidInputError


@dataclass(frozen=True)
class Protocol:
    """One query set against one gallery under one matching mode."""

    name: str
    query_splits: tuple[str, ...]
    gallery_splits: tuple[str, ...]
    mode: str  # general | cc | sc


STANDARD = (
    Protocol("general", ("query",), ("gallery",), "general"),
    Protocol("cc", ("query",), ("gallery",), "cc"),
    Protocol("sc", ("query",), ("gallery",), "sc"),
)
PROTOCOLS: dict[str, tuple[Protocol, ...]] = {
    "prcc": (
        Protocol("sc", ("query_same",), ("gallery",), "sc"),
        Protocol("cc", ("query_diff",), ("gallery",), "cc"),
    ),
    "ltcc": STANDARD,
    "vcclothes": STANDARD,
    "ccvid": STANDARD,
    "synthetic": STANDARD,
    "last": (STANDARD[0],),
    "deepchange": (STANDARD[0],),
}


def normalize_format(name: str) -> str:
    """'VC-Clothes', 'vc_clothes' and 'vcclothes' all name one format."""
    return str(name).lower().replace("-", "").replace("_", "")


GENERAL_ONLY = frozenset(fmt for fmt, protocols in PROTOCOLS.items() if [p.mode for p in protocols] == ["general"])


def dataset_format(index: pd.DataFrame, dataset_format: str | None = None) -> str:
    """The format whose protocols apply: the one given, else read from the index's splits and cameras."""
    if dataset_format:
        return normalize_format(dataset_format)
    splits = set(index["split"].unique()) if "split" in index else set()
    if splits & {"query_same", "query_diff"}:
        return "prcc"
    if "camid" in index:
        test = index.loc[index["split"].isin(("query", "gallery")), "camid"]
        if len(test) > 1 and test.is_unique:
            return "last"
    return "generic"


def validation_format(fmt: str) -> str:
    """The format whose protocols run on validation rows read as query/gallery."""
    return fmt if normalize_format(fmt) in GENERAL_ONLY else "generic"


def protocols_for(index: pd.DataFrame, dataset_format_name: str | None = None) -> list[Protocol]:
    """The protocols of the index's dataset whose query and gallery splits are present."""
    fmt = dataset_format(index, dataset_format_name)
    wanted = PROTOCOLS.get(fmt, STANDARD)
    splits = set(index["split"].unique())
    present = [p for p in wanted if splits & set(p.query_splits) and splits & set(p.gallery_splits)]
    if not present:
        needed = sorted({s for p in wanted for s in (*p.query_splits, *p.gallery_splits)})
        raise ReidInputError(
            f"the index (format {fmt!r}) has no query/gallery splits to evaluate: found splits "
            f"{sorted(splits)}, the protocols need {needed}"
        )
    return present


__all__ = ["GENERAL_ONLY", "PROTOCOLS", "Protocol", "dataset_format", "normalize_format", "protocols_for",
           "validation_format"]
