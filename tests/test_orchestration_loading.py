"""The code location loads from any working directory without reading params.yaml, and `dg check defs` passes."""
from __future__ import annotations

import subprocess
import sys

import pytest

from orchestration_helpers import REPO, VENV_BIN, server_env

# imports the definitions and reports what a deployment sees; any params read at import would fail
LOAD = """
from dagster import Definitions
from dagster_project.definitions import defs
Definitions.validate_loadable(defs)
graph = defs.resolve_asset_graph()
print(sorted(graph.get(__import__("dagster").AssetKey("generated_images")).partitions_def.partition_dimension_names))
from dagster_project.resources import ParamsResource
try:
    ParamsResource().load()
except Exception as error:
    print("run time:", error)
"""


def _isolated_env(tmp_path):
    """A working directory without params.yaml, DLCR_PARAMS naming a broken file elsewhere."""
    cwd, elsewhere = tmp_path / "cwd", tmp_path / "elsewhere"
    cwd.mkdir()
    elsewhere.mkdir()
    broken = elsewhere / "params.yaml"
    broken.write_text("generation: {shards: [not, a, number\n")
    (tmp_path / "dagster_home").mkdir()
    return cwd, broken, server_env(DLCR_PARAMS=str(broken), DAGSTER_HOME=str(tmp_path / "dagster_home"),
                                   VIRTUAL_ENV=str(REPO / ".venv"))


def test_definitions_load_from_another_directory_without_reading_params(tmp_path):
    cwd, broken, env = _isolated_env(tmp_path)
    loaded = subprocess.run([sys.executable, "-c", LOAD], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-4000:]
    assert "['dataset', 'shard']" in loaded.stdout
    # the params are read when used, from $DLCR_PARAMS: the broken file is named then
    assert f"run time: {broken}: not valid YAML" in loaded.stdout, loaded.stdout


@pytest.mark.parametrize("where", ["repo", "elsewhere"])
def test_dg_check_defs_passes(tmp_path, where):
    cwd, _, env = _isolated_env(tmp_path)
    command = [str(VENV_BIN / "dg"), "check", "defs"]
    if where == "repo":
        cwd = REPO
    else:  # dg finds the project from --target-path; the code location must not need ./params.yaml
        command += ["--target-path", str(REPO)]
    checked = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
