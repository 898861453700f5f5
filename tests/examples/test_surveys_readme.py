"""services/surveys/README.md's worked example, run as a reader runs it: ``lsg-surveys serve`` on a fresh
database and the real local Kafka, then every ```bash block of the section "Worked example: from an XLSForm to
events" executed as written (curl and jq), its printed lines checked, and the events it caused read from Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from lsg_events import topics
from lsg_local.testing import Infra, collect, create_database, drop_database
from lsg_testkit.tokens import api_tokens, grant

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "services" / "surveys" / "README.md"
SECTION = "Worked example: from an XLSForm to events"
BIN = Path(sys.executable).parent
ADMIN, EDITOR = "readme-admin-token", "readme-editor-token"


def section_script() -> str:
    text = README.read_text("utf-8")
    _, found, rest = text.partition(f"\n## {SECTION}")
    assert found, f"README has no section '## {SECTION}'"
    blocks = re.findall(r"```bash\n(.*?)```", rest.split("\n## ", 1)[0], flags=re.S)
    assert len(blocks) >= 5
    return "\n".join(blocks)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_worked_example(infra: Infra, kafka_bootstrap: str, tmp_path: Path) -> None:
    dsn = await create_database(infra.admin_dsn)
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LSG_DATABASE_URL": dsn,
        "LSG_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LSG_API_TOKENS": api_tokens(grant(ADMIN, "admin", ["admin"]), grant(EDITOR, "editor", ["editor"])),
        "LSG_SURVEYS_PSEUDONYM_KEY": "readme-example-pseudonym-key-0123456789abcdef",
        "LSG_HTTP_HOST": "127.0.0.1",
        "LSG_OUTBOX_POLL_INTERVAL_S": "0.3",
        "OTEL_SDK_DISABLED": "true",
    }
    log_path = tmp_path / "lsg-surveys.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "lsg-surveys"), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, f"lsg-surveys exited:\n{log_path.read_text()[-4000:]}"
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                assert time.monotonic() < deadline, log_path.read_text()[-4000:]
                await asyncio.sleep(0.5)
        async with collect(kafka_bootstrap, topics.SURVEYS) as collector:
            script = await asyncio.create_subprocess_exec(
                "bash",
                "-euo",
                "pipefail",
                "-c",
                section_script(),
                cwd=ROOT,
                env={**env, "SURVEYS_URL": url, "ADMIN_TOKEN": ADMIN, "EDITOR_TOKEN": EDITOR},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            out_b, err_b = await asyncio.wait_for(script.communicate(), 120)
            out, err = out_b.decode(), err_b.decode()
            assert script.returncode == 0, f"{out}\n{err}"
            lines = out.splitlines()
            created = next(line for line in lines if line.startswith("created: "))
            cid, status = created.removeprefix("created: ").split()
            assert status == "draft"
            form = json.loads(next(line for line in lines if line.startswith('{"mapping_version"')))
            assert form["mapping_version"] == 1
            assert form["age"]["values"]["18_29"] == "18-29"
            assert "status: open" in lines
            mapping = json.loads(next(line for line in lines if line.startswith('{"version"')))
            assert mapping["match"] == "explicit"
            assert mapping["gender"]["sieviete"] == "female"
            dry: dict[str, Any] = json.loads(next(line for line in lines if line.startswith('{"valid"')))
            assert dry == {
                "valid": 10,
                "rejected": 4,
                "skipped": 1,
                "unmapped_values": {"q_dialogue": {"extremely_satisfied": 1}, "settlement_code": {"v9": 1}},
            }
            imported = json.loads(next(line for line in lines if line.startswith('{"recorded"')))
            assert imported == {
                "recorded": 8,
                "corrected": 1,
                "duplicates": 1,
                "rejected": 4,
                "skipped": 1,
                "mapping_version": 1,
                "reasons": [
                    "rows[10].answers.q_dialogue",
                    "rows[11].settlement_code",
                    "rows[12].answers.q_meetings",
                    "rows[13].answers.q_dialogue",
                ],
            }
            assert f"webhook: /v1/campaigns/{cid}/webhooks/kobo" in lines

            def mine(event_type: str) -> list[Any]:
                return [e for e in collector.events(event_type) if e.data.campaign_id == cid]  # type: ignore[attr-defined]

            recorded_type, corrected_type = "lv.lsg.survey.response.recorded.v1", "lv.lsg.survey.response.corrected.v1"
            await collector.wait_for(lambda _c: len(mine(recorded_type)) >= 8, timeout=60, message="8 recorded")
            await collector.wait_for(lambda _c: len(mine(corrected_type)) >= 1, timeout=60, message="1 corrected")
        ages = {(e.data.age_band, e.data.age_range) for e in mine(recorded_type)}
        assert ("65+", None) in ages
        assert ("undisclosed", "18-29") in ages
        payloads = [r.value.decode() for r in collector.records if r.key == cid.encode() and r.value is not None]
        for text in payloads:
            for personal in ("Jānis", "Bērziņš", "+371", "Privāts komentārs"):
                assert personal not in text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        await drop_database(infra.admin_dsn, dsn)
