"""The docs' examples, run the way a user runs them: as subprocesses, against the real local Kafka and a real
alerts service (``lsg-alerts serve`` on a fresh database), with docs/partners.md's commands executed as written.

One module-scoped story keeps the run short: the alerts service starts; the integrator examples' consumer groups
are placed at the end of ``lsg.alerts.events.v1``; docs/partners.md's quick start registers a partner and a
device and sends a signed ``status=Test`` alert over HTTP, then its Kafka section sends one on the partner topic;
the alert is acknowledged and resolved; every ``lsg_events.examples.EXAMPLES`` event is published as a real record
on a fresh topic; then the four consumer examples (FastStream, aiokafka, the CloudEvents SDK, Kafka's console
consumer) run side by side and must see what was emitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from cryptography.fernet import Fernet

from lsg_alerts.domain.signing import sign, verify
from lsg_events import EVENT_TYPES, AlertAcknowledged, AlertRaised, AlertResolved, IndicatorUpdated, topics
from lsg_events.alerts import DeviceInstalled, DeviceStatusChanged
from lsg_events.envelope import CloudEvent
from lsg_events.examples import EXAMPLES
from lsg_events.topics import DAY_MS, TopicSpec
from lsg_local.testing import EventCollector, Infra, collect, create_database, drop_database, unique
from lsg_shared.auth import hash_token, parse_tokens
from lsg_shared.kafka import ensure_topics
from lsg_shared.settings import KafkaSettings
from lsg_testkit.kafka import skip_to_end

INTEGRATION = (pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "docs" / "examples"
PARTNERS_MD = ROOT / "docs" / "partners.md"
BIN = Path(sys.executable).parent
IDLE_S = "5"  # the consumer examples stop after this long without a record


def integration(fn: Any) -> Any:
    for mark in INTEGRATION:
        fn = mark(fn)
    return fn


# ---- helpers ----------------------------------------------------------------------------------------------
@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"


async def run(cmd: list[str], env: dict[str, str], timeout: float = 60) -> Result:
    """Run a command from the repository root in its own process group (killed whole on timeout)."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = await proc.communicate()
        raise AssertionError(f"{cmd} timed out after {timeout}s\n{Result(-9, out.decode(), err.decode())}") from None
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def doc_section_commands(doc: Path, heading: str) -> str:
    """Every ```bash block of one `## heading` section of a doc, in order: what a reader types."""
    text = doc.read_text("utf-8")
    _, found, rest = text.partition(f"\n## {heading}")
    assert found, f"{doc.name} has no section '## {heading}'"
    section = rest.split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert blocks, f"{doc.name} '## {heading}' has no bash block"
    return "\n".join(blocks)


async def sandbox_tokens() -> tuple[str, str]:
    """(LSG_ADMIN_TOKEN, LSG_API_TOKENS) as docs/partners.md's sandbox section computes them (with sha256sum)."""
    section = doc_section_commands(PARTNERS_MD, "Sandbox on your machine")
    lines = [
        line for line in section.splitlines() if line.startswith(("export LSG_ADMIN_TOKEN=", "export LSG_API_TOKENS="))
    ]
    assert len(lines) == 2, section
    script = "\n".join([*lines, 'printf "%s\\n%s" "$LSG_ADMIN_TOKEN" "$LSG_API_TOKENS"'])
    result = await run(["bash", "-euo", "pipefail", "-c", script], {"PATH": os.environ.get("PATH", "")})
    assert result.returncode == 0, str(result)
    admin_token, api_tokens = result.stdout.split("\n", 1)
    entry = parse_tokens(api_tokens)[0]
    assert entry.sha256 == hash_token(admin_token)
    assert entry.roles == ["admin"]
    return admin_token, api_tokens


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def user_env(bootstrap: str, **extra: str) -> dict[str, str]:
    """The environment of a user's shell: the project's Python first on PATH, no leftover partner settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSG_PARTNER", "LSG_DEVICE", "LSG_CAP_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", LSG_KAFKA_BOOTSTRAP=bootstrap, PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def raised(events: EventCollector, partner_id: str) -> list[AlertRaised]:
    found = (e.data for e in events.events(AlertRaised.event_type))
    return [d for d in found if isinstance(d, AlertRaised) and d.partner_id == partner_id]


# ---- the story, as module-scoped fixtures -----------------------------------------------------------------
@dataclass
class Stack:
    url: str
    bootstrap: str
    events: EventCollector
    groups: dict[str, str]
    admin_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.admin_token}"}


@dataclass
class Partner:
    partner_id: str
    device_id: str
    secret: str
    quickstart: Result


@dataclass
class Emitted:
    alert_id: str
    kafka_identifier: str
    examples_topic: str


@pytest.fixture(scope="module")
async def stack(infra: Infra, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """``lsg-alerts serve`` as docs/partners.md's sandbox starts it, on a fresh database and a real socket."""
    await ensure_topics(KafkaSettings(bootstrap=kafka_bootstrap), topics.TOPICS)
    door_group = unique("examples-partner-door")
    groups = {name: unique(f"examples-{name}") for name in ("faststream", "aiokafka", "cloudevents", "console")}
    await asyncio.gather(
        skip_to_end(kafka_bootstrap, door_group, topics.PARTNER_INPUT),
        *(skip_to_end(kafka_bootstrap, g, topics.ALERTS) for g in groups.values()),
    )
    admin_token, api_tokens = await sandbox_tokens()
    dsn = await create_database(infra.admin_dsn)
    port = free_port()
    env = user_env(
        kafka_bootstrap,
        LSG_DATABASE_URL=dsn,
        LSG_API_TOKENS=api_tokens,
        LSG_HTTP_HOST="127.0.0.1",
        LSG_ALERTS_SECRETS_KEY=Fernet.generate_key().decode(),
        LSG_PARTNER_GROUP_ID=door_group,
        LSG_OUTBOX_POLL_INTERVAL_S="0.5",
        OTEL_SDK_DISABLED="true",
    )
    log_path = tmp_path_factory.mktemp("alerts") / "lsg-alerts.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "lsg-alerts"), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, f"lsg-alerts exited:\n{log_path.read_text()[-4000:]}"
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"lsg-alerts not ready:\n{log_path.read_text()[-4000:]}"
                await asyncio.sleep(0.3)
        async with collect(kafka_bootstrap, topics.ALERTS) as events:
            yield Stack(url, kafka_bootstrap, events, groups, admin_token)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        await drop_database(infra.admin_dsn, dsn)


@pytest.fixture(scope="module")
async def partner(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Partner:
    """docs/partners.md '## Quick start', its bash blocks run as written (ids unique to this run)."""
    partner_id, device_id = unique("acme-sirens"), unique("acme-siren")
    secret_file = tmp_path_factory.mktemp("partner") / "secret"
    script = doc_section_commands(PARTNERS_MD, "Quick start")
    script += f'\nprintf %s "$LSG_PARTNER_SECRET" > {shlex.quote(str(secret_file))}\n'  # test plumbing only
    env = user_env(
        stack.bootstrap,
        LSG_ALERTS_URL=stack.url,
        LSG_ADMIN_TOKEN=stack.admin_token,
        LSG_PARTNER_ID=partner_id,
        LSG_DEVICE_ID=device_id,
    )
    result = await run(["bash", "-euo", "pipefail", "-c", script], env)
    assert result.returncode == 0, str(result)
    return Partner(partner_id, device_id, secret_file.read_text().strip(), result)


@pytest.fixture(scope="module")
async def emitted(stack: Stack, partner: Partner) -> Emitted:
    """The Kafka partner example, a staff acknowledge + resolve, and every EXAMPLES event on a fresh topic."""
    kafka_identifier = unique("kafka-test")
    env = user_env(
        stack.bootstrap,
        LSG_PARTNER_ID=partner.partner_id,
        LSG_PARTNER_SECRET=partner.secret,
        LSG_DEVICE_ID=partner.device_id,
        LSG_CAP_IDENTIFIER=kafka_identifier,
    )
    result = await run(
        ["bash", "-euo", "pipefail", "-c", doc_section_commands(PARTNERS_MD, "Over the partner topic")], env
    )
    assert result.returncode == 0, str(result)
    assert f"published {kafka_identifier} to {topics.PARTNER_INPUT}" in result.stdout, str(result)

    match = re.search(r"^202 (\{.*\})$", partner.quickstart.stdout, re.M)
    assert match, str(partner.quickstart)
    alert_id = json.loads(match.group(1))["alert_id"]
    async with httpx.AsyncClient(base_url=stack.url, headers=stack.auth, timeout=10) as client:
        for action in ("acknowledge", "resolve"):
            r = await client.post(f"/v1/alerts/{alert_id}/{action}", json={"note": "examples test"})
            assert r.status_code == 200, r.text

    def everything(c: EventCollector) -> bool:
        acknowledged = {e.data.alert_id for e in c.events(AlertAcknowledged.event_type)}  # type: ignore[attr-defined]
        resolved = {e.data.alert_id for e in c.events(AlertResolved.event_type)}  # type: ignore[attr-defined]
        over_kafka = any(a.identifier == kafka_identifier for a in raised(c, partner.partner_id))
        return alert_id in acknowledged and alert_id in resolved and over_kafka

    await stack.events.wait_for(everything, 30, "the Kafka partner alert, alert.acknowledged and alert.resolved")

    examples_topic = unique("lsg.test.examples")
    spec = TopicSpec(examples_topic, 1, 1, DAY_MS, "delete", "", (), (), "examples test")
    await ensure_topics(KafkaSettings(bootstrap=stack.bootstrap), [spec])
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        for data in EXAMPLES.values():
            key, value, headers = CloudEvent(data=data, source="/lsg/examples").to_kafka()
            record_headers = [(k, v.encode()) for k, v in headers.items()]
            record_headers.append(("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
            await producer.send_and_wait(examples_topic, value, key=key, headers=record_headers)
    finally:
        await producer.stop()
    return Emitted(alert_id, kafka_identifier, examples_topic)


@pytest.fixture(scope="module")
async def consumers(stack: Stack, emitted: Emitted) -> dict[str, Result]:
    """The four consumer examples, side by side, each in its own group (placed before anything was emitted)."""
    topic_args = ["--topic", topics.ALERTS, "--topic", emitted.examples_topic]

    def python_example(name: str, script: str) -> list[str]:
        group = ["--group", stack.groups[name]]
        return [
            sys.executable,
            str(EXAMPLES_DIR / script),
            *topic_args,
            *group,
            "--max-events",
            "500",
            "--timeout",
            IDLE_S,
        ]

    env = user_env(stack.bootstrap)
    console_env = user_env(
        stack.bootstrap,
        LSG_TOPIC=topics.ALERTS,
        LSG_GROUP_ID=stack.groups["console"],
        LSG_MAX_EVENTS="500",
        LSG_TIMEOUT_MS=str(int(IDLE_S) * 1000),
    )
    names = ("faststream", "aiokafka", "cloudevents", "console")
    results = await asyncio.gather(
        run(python_example("faststream", "integrator_faststream.py"), env),
        run(python_example("aiokafka", "integrator_aiokafka.py"), env),
        run(python_example("cloudevents", "integrator_cloudevents.py"), env),
        run(["bash", str(EXAMPLES_DIR / "console-consumer.sh")], console_env),
    )
    return dict(zip(names, results, strict=True))


# ---- partners ---------------------------------------------------------------------------------------------
@integration
async def test_a_new_partner_following_partners_md_gets_a_signed_test_alert_accepted(
    stack: Stack, partner: Partner
) -> None:
    out = partner.quickstart.stdout
    match = re.search(r"^202 (\{.*\})$", out, re.M)
    assert match, f"partner_http.py did not answer 202:\n{partner.quickstart}"
    answer = json.loads(match.group(1))
    assert answer["outcome"] == "raised"
    assert answer["drill"] is True, "the quick start's first alert is a sandbox (status=Test) alert"
    assert partner.secret.startswith("lsgp_")

    await stack.events.wait_for(lambda c: bool(raised(c, partner.partner_id)), 20, "alert.raised")
    event = raised(stack.events, partner.partner_id)[0]
    assert event.alert_id == answer["alert_id"]
    assert (event.drill, event.status, event.msg_type) == (True, "Test", "Alert")
    assert event.device_id == partner.device_id
    assert event.ack_deadline is None, "a drill never pages anyone: no acknowledgement deadline, no escalation"
    assert event.place.settlement is not None
    assert event.place.settlement.code == "0681066-01"

    # Step 4 of the quick start lists the drill.
    listing = next(json.loads(line) for line in out.splitlines() if line.startswith('{"items"'))
    assert [a["alert_id"] for a in listing["items"]] == [answer["alert_id"]]
    assert listing["items"][0]["drill"] is True


@integration
async def test_a_partner_publishes_a_signed_test_alert_on_the_partner_topic(
    stack: Stack, partner: Partner, emitted: Emitted
) -> None:
    found = [a for a in raised(stack.events, partner.partner_id) if a.identifier == emitted.kafka_identifier]
    assert len(found) == 1
    assert found[0].drill is True
    assert found[0].device_id == partner.device_id
    assert found[0].ack_deadline is None


def test_the_worked_signature_example_in_partners_md_is_right() -> None:
    text = PARTNERS_MD.read_text("utf-8")
    block = text.split("### Worked example", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    fields = dict(line.split(None, 1) for line in block.splitlines() if line.strip())
    secret, timestamp, body = fields["secret"], fields["timestamp"], fields["body"].encode()
    assert fields["signed"] == f"{timestamp}.{body.decode()}"
    header = fields["header"].removeprefix("X-LSG-Signature: ")
    assert header == sign(secret, timestamp, body)
    verify(
        secrets=[secret],
        timestamp_header=timestamp,
        signature_header=header,
        body=body,
        reference_time=float(timestamp),
        tolerance_s=300,
    )
    # The OpenSSL recipe signs the same bytes.
    recipe = re.search(r"printf '%s\.%s' (\d+) '([^']+)'", text)
    assert recipe is not None
    assert (recipe.group(1), recipe.group(2)) == (timestamp, body.decode())


def test_the_http_partner_example_stays_small_and_dependency_free() -> None:
    source = (EXAMPLES_DIR / "partner_http.py").read_text("utf-8")
    imports = set(re.findall(r"^import (\w+)", source, re.M)) | set(re.findall(r"^from (\w+)", source, re.M))
    assert imports <= set(sys.stdlib_module_names), imports - set(sys.stdlib_module_names)
    body = source.split('"""', 2)[2]
    code = [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith(("import", "#"))]
    assert len(code) <= 25, len(code)
    assert "X-LSG-Signature" in source
    assert 'f"v1={' in source


# ---- integrators ------------------------------------------------------------------------------------------
EXAMPLE_ALERT = EXAMPLES[AlertRaised]
EXAMPLE_INDICATOR = EXAMPLES[IndicatorUpdated]


@integration
@pytest.mark.parametrize("name", ["faststream", "aiokafka"])
async def test_integrator_examples_read_alert_raised_and_indicator_updated(
    consumers: dict[str, Result], emitted: Emitted, name: str
) -> None:
    result = consumers[name]
    assert result.returncode == 0, str(result)
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"alert.raised alert_id={emitted.alert_id} drill=True") for line in lines), str(result)
    assert isinstance(EXAMPLE_ALERT, AlertRaised)
    assert isinstance(EXAMPLE_INDICATOR, IndicatorUpdated)
    assert any(line.startswith(f"alert.raised alert_id={EXAMPLE_ALERT.alert_id} ") for line in lines), str(result)
    assert f"indicator.updated key={EXAMPLE_INDICATOR.key} value={EXAMPLE_INDICATOR.value}" in result.stdout
    assert "Traceback" not in result.stderr, str(result)


@integration
async def test_the_cloudevents_sdk_parses_every_event_type(
    consumers: dict[str, Result], emitted: Emitted, partner: Partner
) -> None:
    assert importlib.util.find_spec("cloudevents") is not None, "the dev dependency group needs cloudevents>=2.2"
    result = consumers["cloudevents"]
    assert result.returncode == 0, f"the CloudEvents SDK refused a record:\n{result}"
    rows = [line.split(" ") for line in result.stdout.splitlines() if line.startswith("lv.lsg.")]
    from_examples = {r[0] for r in rows if r[1] == "/lsg/examples"}
    assert from_examples == set(EVENT_TYPES), set(EVENT_TYPES) - from_examples

    from_service = {(r[0], r[3]) for r in rows if r[1] == "/lsg/alerts"}
    for event_type, key in [
        (DeviceInstalled.event_type, partner.device_id),
        (DeviceStatusChanged.event_type, partner.device_id),
        (AlertRaised.event_type, emitted.alert_id),
        (AlertAcknowledged.event_type, emitted.alert_id),
        (AlertResolved.event_type, emitted.alert_id),
    ]:
        assert (event_type, key) in from_service, f"{event_type} {key} not read by the SDK:\n{result}"


@integration
async def test_kafkas_console_consumer_shows_the_cloudevents_headers(
    consumers: dict[str, Result], emitted: Emitted
) -> None:
    result = consumers["console"]
    assert result.returncode == 0, str(result)
    lines = [line for line in result.stdout.splitlines() if f'"alert_id":"{emitted.alert_id}"' in line]
    assert lines, str(result)
    raised_line = next(line for line in lines if f"ce_type:{AlertRaised.event_type}" in line)
    for header in ("ce_specversion:1.0", "ce_source:/lsg/alerts", "ce_id:", "content-type:application/json"):
        assert header in raised_line
    assert f"ce_partitionkey:{emitted.alert_id}" in raised_line
