"""Which protocols run per dataset format, and how the format is inferred."""
from __future__ import annotations

import pandas as pd
import pytest

from dlcr_reid.errors import ReidInputError
from dlcr_reid.evaluation.protocols import dataset_format, protocols_for


def index(splits, dataset="x"):
    return pd.DataFrame({"split": list(splits), "dataset": dataset})


def names(protocols):
    return [(p.name, p.query_splits, p.gallery_splits, p.mode) for p in protocols]


def test_prcc_same_and_changed_clothes_against_camera_a():
    table = index(["train", "gallery", "query_same", "query_diff"], "prcc")
    assert names(protocols_for(table, "prcc")) == [
        ("sc", ("query_same",), ("gallery",), "sc"),
        ("cc", ("query_diff",), ("gallery",), "cc"),
    ]
    # the split names alone identify PRCC
    assert dataset_format(index(["gallery", "query_diff"], "my-prcc-copy")) == "prcc"


@pytest.mark.parametrize("fmt", ["ltcc", "vcclothes", "VC-Clothes", "ccvid", "synthetic", "userformat"])
def test_general_cc_and_sc(fmt):
    table = index(["train", "query", "gallery"])
    assert [p.name for p in protocols_for(table, fmt)] == ["general", "cc", "sc"]


@pytest.mark.parametrize("fmt", ["last", "deepchange"])
def test_general_only(fmt):
    assert [p.mode for p in protocols_for(index(["query", "gallery"]), fmt)] == ["general"]


def test_format_never_from_the_dataset_name():
    # the registered name says nothing: "last" or "ltcc" without a format are read from the content
    assert dataset_format(index(["query", "gallery"], "last")) == "generic"
    assert dataset_format(index(["query", "gallery"], "ltcc")) == "generic"
    # every test image on its own camera is the LaST convention: general only, whatever the name
    table = index(["train", "query", "gallery", "gallery"], "last-test").assign(camid=[0, 0, 1, 2])
    assert dataset_format(table) == "last" and [p.name for p in protocols_for(table)] == ["general"]
    # a shared camera is not
    assert dataset_format(table.assign(camid=[0, 0, 1, 1])) == "generic"
    # the format given wins over the content
    assert [p.name for p in protocols_for(table, "ltcc")] == ["general", "cc", "sc"]


def test_missing_test_splits():
    with pytest.raises(ReidInputError, match="no query/gallery splits"):
        protocols_for(index(["train"]), "ltcc")
