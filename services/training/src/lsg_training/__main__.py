"""``lsg-training serve|migrate``."""

from __future__ import annotations

import sys

from lsg_shared.cli import run
from lsg_training.entrypoints.app import create_app
from lsg_training.settings import TrainingSettings


def main() -> None:
    sys.exit(run("training", "lsg_training", TrainingSettings, create_app))


if __name__ == "__main__":
    main()
