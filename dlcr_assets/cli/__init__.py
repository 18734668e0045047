"""`dlcr` command line: one command per pipeline step, each calling its function in dlcr_assets.steps."""
from __future__ import annotations

import sys

from dlcr_assets.cli.app import app

# Each module registers its commands on `app` (in pipeline order, as `dlcr --help` lists them).
from dlcr_assets.cli import dataset_commands  # noqa: F401,E402
from dlcr_assets.cli import synth_command  # noqa: F401,E402
from dlcr_assets.cli import description_commands  # noqa: F401,E402
from dlcr_assets.cli import prompt_commands  # noqa: F401,E402
from dlcr_assets.cli import mask_commands  # noqa: F401,E402
from dlcr_assets.cli import generation_commands  # noqa: F401,E402
from dlcr_assets.cli import discriminator_commands  # noqa: F401,E402
from dlcr_assets.cli import training_commands  # noqa: F401,E402
from dlcr_assets.cli import evaluation_commands  # noqa: F401,E402
from dlcr_assets.cli import report_commands  # noqa: F401,E402
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
