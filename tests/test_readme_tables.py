"""The generated tables of README.md and benchmarks/README.md are what their results give: `scripts/readme_tables.py --check`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "readme_tables.py"


def _check(*documents: Path) -> subprocess.CompletedProcess:
    args = [arg for document in documents for arg in ("--readme", str(document))]
    return subprocess.run([sys.executable, str(SCRIPT), "--check", *args], capture_output=True, text=True)


def test_readme_tables_match_the_measured_results():
    result = _check()  # both documents
    assert result.returncode == 0, result.stderr


def test_a_hand_edited_benchmark_table_and_an_unknown_case_are_caught(tmp_path):
    text = (REPO / "benchmarks" / "README.md").read_text()
    opening = "<!-- table:quality_faults/ids8-e6-identity-on -->\n"
    edited = tmp_path / "README.md"
    edited.write_text(text.replace(opening, opening + "| identity | 15 | 15 | 1.00 |\n"))
    result = _check(edited)
    assert result.returncode == 1 and "stale" in result.stderr
    edited.write_text(text.replace("quality_faults/ids8-e6-identity-on", "quality_faults/no-such-case"))
    result = _check(edited)
    assert result.returncode == 1 and "no case 'no-such-case'" in result.stderr


def test_a_hand_edited_table_is_caught(tmp_path):
    readme = (REPO / "README.md").read_text()
    start = readme.index("<!-- table:demo -->\n") + len("<!-- table:demo -->\n")
    edited = tmp_path / "README.md"
    edited.write_text(readme[:start] + "| typed | 99.9 |\n" + readme[start:])
    result = _check(edited)
    assert result.returncode == 1 and "stale" in result.stderr
    # without --check the script puts the results' table back
    subprocess.run([sys.executable, str(SCRIPT), "--readme", str(edited)], check=True)
    assert edited.read_text() == readme
