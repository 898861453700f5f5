"""``lsg-alerts serve|migrate``."""

from __future__ import annotations

import sys

from lsg_alerts.entrypoints.app import create_app
from lsg_alerts.settings import AlertsSettings
from lsg_shared.cli import run


def main() -> None:
    sys.exit(run("alerts", "lsg_alerts", AlertsSettings, create_app))


if __name__ == "__main__":
    main()
