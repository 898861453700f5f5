"""``lsg-surveys serve|migrate``."""

from __future__ import annotations

import sys

from lsg_shared.cli import run
from lsg_surveys.entrypoints.app import create_app
from lsg_surveys.settings import SurveysSettings


def main() -> None:
    sys.exit(run("surveys", "lsg_surveys", SurveysSettings, create_app))


if __name__ == "__main__":
    main()
