"""Scenarios that exercise a running service (each lives beside its service and prints one JSON object).

They are run as subprocesses so each measures a real service process, as operations would run it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


async def _json_of(*cmd: str, timeout: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ}
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    text = out.decode()
    start = text.index("{")  # scripts may print progress before their JSON summary
    data: dict[str, Any] = json.loads(text[start:])
    return data


async def scenario_alert_path(args: argparse.Namespace, results: dict[str, Any]) -> None:
    data = await _json_of(
        PY,
        "services/alerts/bench/alert_latency.py",
        "--rate",
        str(args.alert_rate),
        "--duration",
        str(args.alert_duration),
        "--bootstrap",
        args.bootstrap,
        timeout=args.alert_duration + 240,
    )
    e2e = data["send_to_consumed"]
    results["alert_rate_target_per_s"] = data["rate_target_per_s"]
    results["alert_achieved_rate_per_s"] = data["achieved_rate_per_s"]
    results["alert_p50_ms"], results["alert_p95_ms"], results["alert_p99_ms"] = (
        e2e["p50_ms"],
        e2e["p95_ms"],
        e2e["p99_ms"],
    )
    results["alert_missing"] = data["missing"]
    results["alert_detail"] = {"http_202": data["http_202"], "response_to_consumed": data["response_to_consumed"]}
    print(f"  alert path: p50 {e2e['p50_ms']} ms, p99 {e2e['p99_ms']} ms at {data['achieved_rate_per_s']}/s")


SCENARIOS = {"alert": scenario_alert_path}
