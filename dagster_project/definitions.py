"""The Dagster code location: every definition under defs/ (by domain), bound to the shared resources.

`dagster dev` and `dg check defs` load ``defs`` (pyproject.toml: [tool.dagster], [tool.dg]). Loading
reads no params.yaml: ParamsResource finds it when a run, sensor or schedule uses it ($DLCR_PARAMS,
else ./params.yaml of the working directory), so the location loads from any directory.

The default executor is the pipeline's too: the automation sensor and the UI's "Materialize"
launch runs of Dagster's implicit asset job (`__ASSET_JOB`), not of the named jobs, and without
it those runs would ignore $DLCR_EXECUTOR and the per-run GPU step limit.
"""
from __future__ import annotations

from pathlib import Path

from dagster import Definitions, load_from_defs_folder

from dagster_project.execution import pipeline_executor
from dagster_project.resources import RESOURCES

defs = Definitions.merge(load_from_defs_folder(path_within_project=Path(__file__).parent),
                         Definitions(resources=RESOURCES, executor=pipeline_executor))
