"""``lsg-reporting serve|migrate``."""

from __future__ import annotations

import sys

from lsg_shared.cli import run

from lsg_reporting.entrypoints.app import create_app
from lsg_reporting.settings import ReportingSettings


def main() -> None:
    sys.exit(run("reporting", "lsg_reporting", ReportingSettings, create_app))


if __name__ == "__main__":
    main()
