"""`dlcr` command line: one command per pipeline step, each calling its function in dlcr_assets.steps."""
from __future__ import annotations

import sys

from dlcr_assets.cli.app import app

# Each module registers its commands on `app` (in pipeline order, as `dlcr --help` lists them).
from dlcr_assets.cli import dataset_index_commands  # noqa: F401,E402
from dlcr_assets.cli import synthetic_dataset_commands  # noqa: F401,E402
from dlcr_assets.cli import clothing_descriptions_commands  # noqa: F401,E402
from dlcr_assets.cli import clothing_prompts_commands  # noqa: F401,E402
from dlcr_assets.cli import clothing_masks_commands  # noqa: F401,E402
from dlcr_assets.cli import generated_images_commands  # noqa: F401,E402
from dlcr_assets.cli import discriminator_commands  # noqa: F401,E402
from dlcr_assets.cli import reid_checkpoint_commands  # noqa: F401,E402
from dlcr_assets.cli import generation_quality_commands  # noqa: F401,E402
from dlcr_assets.cli import evaluation_reports_commands  # noqa: F401,E402
from dlcr_assets.cli import comparison_report_commands  # noqa: F401,E402
from dlcr_assets.cli import server_commands  # noqa: F401,E402
from dlcr_assets.cli import params_command  # noqa: F401,E402


def main() -> None:
    """Entry point: user errors (bad params, bad layouts) print one clear message, exit 2."""
    from dlcr_assets.errors import USER_ERRORS

    try:
        app()
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
