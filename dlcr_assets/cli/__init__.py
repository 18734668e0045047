"""`dlcr` command line: one command per pipeline step, each calling the step's library function."""
from __future__ import annotations

import sys

from dlcr_assets.cli.app import app

# Each module registers its commands on `app`.
from dlcr_assets.cli import dataset_commands  # noqa: F401,E402
from dlcr_assets.cli import generation_commands  # noqa: F401,E402
from dlcr_assets.cli import synth_command  # noqa: F401,E402
from dlcr_assets.cli import description_commands  # noqa: F401,E402
from dlcr_assets.cli import server_commands  # noqa: F401,E402
from dlcr_assets.cli import report_commands  # noqa: F401,E402
from dlcr_assets.cli import evaluation_commands  # noqa: F401,E402
from dlcr_assets.cli import reid_commands  # noqa: F401,E402
from dlcr_assets.cli import params_command  # noqa: F401,E402


def main() -> None:
    """Entry point: user errors (bad params, bad layouts) print one clear message, exit 2."""
    from dlcr_assets.errors import USER_ERRORS

    try:
        app()
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
