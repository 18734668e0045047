"""The README's generated tables are what their results give: `scripts/readme_tables.py --check`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "readme_tables.py"


def _check(readme: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--check", "--readme", str(readme)], capture_output=True, text=True)


def test_readme_tables_match_the_measured_results():
    result = _check(REPO / "README.md")
    assert result.returncode == 0, result.stderr


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
