"""The orchestration section: what the Dagster sensor watches and when the schedule fires."""
from __future__ import annotations

from pathlib import Path

from dlcr_reid.params import StrictModel


class OrchestrationParams(StrictModel):
    watch_root: Path = Path("data/raw")
    generated_images_cron: str = "0 3 * * 0"
