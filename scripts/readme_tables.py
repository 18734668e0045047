"""Write the README's generated tables from the measured results (never typed by hand).

The README keeps each generated table between `<!-- table:NAME -->` and `<!-- /table:NAME -->`.
NAME `demo` is the demo's baseline vs DLCR table over seeds, from the JSON that
`benchmarks/demo_seeds.py` writes. `--check` rewrites nothing and exits 1 when the README is not
what the results give (a test runs it).

    .venv/bin/python scripts/readme_tables.py          # rewrite README.md
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
sys.path.insert(0, str(PROJECT))


def _demo_seeds():
    spec = importlib.util.spec_from_file_location("demo_seeds", PROJECT / "benchmarks" / "demo_seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


TABLES = {"demo": lambda: demo_table(PROJECT / "benchmarks" / "results" / "demo_seeds.json")}


def render(readme: str) -> str:
    for name, build in TABLES.items():
        pattern = re.compile(rf"(<!-- table:{name} -->\n).*?(\n<!-- /table:{name} -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md: no <!-- table:{name} --> ... <!-- /table:{name} --> block")
        readme = pattern.sub(lambda m: m.group(1) + build() + m.group(2), readme)
    return readme


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md differs from the results")
    parser.add_argument("--readme", type=Path, default=PROJECT / "README.md")
    args = parser.parse_args()
    current = args.readme.read_text()
    wanted = render(current)
    if args.check:
        if wanted != current:
            print(f"{args.readme}: generated tables are stale; run scripts/readme_tables.py", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        tmp = args.readme.with_name(f".{args.readme.name}.tmp")
        tmp.write_text(wanted)
        tmp.replace(args.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
