"""Rewrite the "Last run" table of docs/reliability.md from test-output/faults/*.json (what each scenario
recorded). ``make faults`` runs it after the scenarios; run it by hand after ``pytest -m faults``.

Generic: every JSON file in the folder is a row, named by its own ``title`` (what ``faults_harness.record``
writes when a scenario gives one), else by ``NAMES`` (the scenarios written before titles), else by its id;
rows are ordered by scenario number, so a new scenario file needs no change here."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- faults:last-run:begin -->", "<!-- faults:last-run:end -->"
NAMES = {
    "s1_sigkill": "1. SIGKILL reporting under load",
    "s2_sigterm": "2. SIGTERM under load (rolling restart)",
    "s2_sigterm_surveys": "2. SIGTERM surveys under HTTP writes",
    "s2_sigterm_training": "2. SIGTERM training under HTTP writes",
    "s2_sigterm_alerts": "2. SIGTERM alerts under HTTP writes",
    "s3_kafka_outage": "3. Kafka broker stopped",
    "s4_postgres_outage": "4. PostgreSQL stopped, then network cut",
    "s5_poison": "5. Poison and failing events in every topic",
    "s6_duplicate_storm": "6. Duplicate and reorder storm",
    "s7_full_replay": "7. Full replay",
    "s8_alerts_flood": "8. Alerts: partner flood and outage",
}


def _fmt(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_fmt(v) for v in value)
    return str(value)


def _order(run: dict[str, object]) -> tuple[int, str]:
    """s2_... before s10_...: by the scenario's number, then its id."""
    scenario = str(run["scenario"])
    number = re.match(r"s(\d+)", scenario)
    return (int(number.group(1)) if number else 10**6, scenario)


def table(folder: Path) -> str:
    rows = ["| Scenario | Scale | Finished (UTC) | Seconds | Figures |", "|---|---|---|---|---|"]
    runs = [json.loads(path.read_text()) for path in folder.glob("*.json")]
    for run in sorted(runs, key=_order):
        skip = {"scenario", "scale", "run", "finished_at", "seconds", "title"}
        figures = "; ".join(f"{k}: {_fmt(v)}" for k, v in run.items() if k not in skip)
        name = run.get("title") or NAMES.get(run["scenario"], run["scenario"])
        rows.append(f"| {name} | {run['scale']} | {run['finished_at']} | {run.get('seconds', '')} | {figures} |")
    return "\n".join(rows)


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "test-output" / "faults"
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{table(folder)}\n{END}{tail}")
    print(f"{DOC.relative_to(ROOT)}: {len(list(folder.glob('*.json')))} scenarios")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
