"""Write the generated tables of README.md and benchmarks/README.md from the measured results.

Each generated table sits between `<!-- table:NAME -->` and `<!-- /table:NAME -->`; no figure in
it is typed by hand. In README.md, NAME `demo` is the demo's baseline vs DLCR table over seeds, from
the JSON that `benchmarks/demo_seeds.py` writes. In benchmarks/README.md, `quality_faults/CASE`
and `quality_rules/CASE` are a case recorded by `benchmarks/quality_faults.py`, and
`quality_training/CASE` one recorded by `benchmarks/quality_training.py`, `plan_cache/CASE` one
of `benchmarks/plan_cache.py`, `dataset_gain/all` every case of `benchmarks/dataset_gain.py` (JSON
under `benchmarks/results/`). `--check` rewrites nothing and
exits 1 when a document is not what the results give (a test runs it).

    .venv/bin/python scripts/readme_tables.py          # rewrite both documents
    .venv/bin/python scripts/readme_tables.py --check  # verify only
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BENCHMARKS = PROJECT / "benchmarks"
RESULTS = BENCHMARKS / "results"
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(BENCHMARKS))  # the benchmark scripts import their neighbours by name


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _demo_seeds():
    return _benchmark("demo_seeds")


def demo_table(results: Path) -> str:
    data = json.loads(results.read_text())
    runs = data["runs"]
    seeds = ", ".join(str(run["seed"]) for run in runs)
    times = "; ".join(f"seed {run['seed']} {run['seconds']:.0f} s" + _sharing(run) for run in runs)
    return "\n".join([
        _demo_seeds().spread_table(runs), "",
        (f"Mean ± sample standard deviation (min..max) over seeds {seeds}" if len(runs) > 1 else f"One seed ({seeds})")
        + f" (`generation.seed` = `training.seed`), percent; {data['machine']}."
        f" Whole-pipeline wall time per seed: {times}. "
        f"Written by `scripts/readme_tables.py` from "
        f"`{results.relative_to(PROJECT)}` (`benchmarks/demo_seeds.py`).",
    ])


def _sharing(run: dict) -> str:
    """How the time was taken, and how loaded the machine was: a wall time is the demo's own only on a quiet machine."""
    notes = ["the sum of its stage times"] if run.get("seconds_from") == "stage times" else []
    if "load_average" in run:
        notes.append(f"load average {run['load_average']} at its end")
    return f" ({'; '.join(notes)})" if notes else ""


def quality_faults_table(case: str) -> str:
    module, entry = _benchmark("quality_faults"), _case("quality_faults.json", case)
    return module.scores_markdown(entry["scores"]) + "\n\n" + module.case_note(entry)


def quality_rules_table(case: str) -> str:
    module, entry = _benchmark("quality_faults"), _case("quality_faults.json", case)
    return module.rules_markdown(entry["rules"]) + "\n\n" + module.case_note(entry)


def quality_training_table(case: str) -> str:
    return _benchmark("quality_training").markdown(_case("quality_training.json", case))


def plan_cache_table(case: str) -> str:
    return _benchmark("plan_cache").markdown(_case("plan_cache.json", case))


def dataset_gain_table(case: str) -> str:
    """``all``: every recorded case of benchmarks/dataset_gain.py."""
    import json

    data = json.loads((RESULTS / "dataset_gain.json").read_text())["cases"]
    return _benchmark("dataset_gain").markdown(data if case == "all" else {case: data[case]})


def _case(results: str, case: str) -> dict:
    from recorded import case as recorded_case

    return recorded_case(RESULTS / results, case)


# a block's NAME is a table, or a table and a recorded case: `quality_faults/ids8-e6-identity-on`
TABLES = {"demo": lambda _: demo_table(RESULTS / "demo_seeds.json"), "quality_faults": quality_faults_table,
          "quality_rules": quality_rules_table, "quality_training": quality_training_table,
          "plan_cache": plan_cache_table, "dataset_gain": dataset_gain_table}
# the blocks each document must hold (others it holds are rendered too)
DOCUMENTS = {PROJECT / "README.md": ["demo"], PROJECT / "benchmarks" / "README.md": []}
BLOCK = re.compile(r"(<!-- table:([\w-]+)(?:/([\w.-]+))? -->\n).*?(<!-- /table:\2(?:/\3)? -->)", re.S)
OPENING = re.compile(r"<!-- table:[^ ]+ -->")


def render(text: str, required: list[str] = (), document: str = "README.md") -> str:
    blocks = list(BLOCK.finditer(text))
    found = {match.group(2) for match in blocks}
    if len(blocks) != len(OPENING.findall(text)):
        raise SystemExit(f"{document}: a <!-- table:NAME --> block without its <!-- /table:NAME --> line")
    for name in required:
        if name not in found:
            raise SystemExit(f"{document}: no <!-- table:{name} --> ... <!-- /table:{name} --> block")

    def build(match: re.Match) -> str:
        table, case = match.group(2), match.group(3)
        if table not in TABLES:
            raise SystemExit(f"{document}: unknown generated table {table!r} (known: {', '.join(TABLES)})")
        try:
            return match.group(1) + TABLES[table](case) + "\n" + match.group(4)
        except (KeyError, FileNotFoundError) as error:
            raise SystemExit(f"{document}: table {match.group(2)}/{case}: {error}") from error

    return BLOCK.sub(build, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when a document differs from the results")
    parser.add_argument("--readme", type=Path, action="append", default=None,
                        help="a document to render (repeatable; default: README.md and benchmarks/README.md)")
    args = parser.parse_args()
    documents = {path.resolve(): DOCUMENTS.get(path.resolve(), []) for path in args.readme} if args.readme else DOCUMENTS
    stale = 0
    for path, required in documents.items():
        current = path.read_text()
        wanted = render(current, required, str(path))
        if args.check:
            if wanted != current:
                print(f"{path}: generated tables are stale; run scripts/readme_tables.py", file=sys.stderr)
                stale = 1
        elif wanted != current:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(wanted)
            tmp.replace(path)
    return stale


if __name__ == "__main__":
    sys.exit(main())
