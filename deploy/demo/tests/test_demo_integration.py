"""The simulator against the four real services (subprocesses) on real Kafka and PostgreSQL.

Kafka is a PRIVATE broker (ports 29592/29593, a fresh folder per run): the reporting service counts every
event on the topics, so the shared broker (other engineers' tests, `make run`) would mix into the figures.
PostgreSQL is the shared one, with four fresh databases. Escalation deadlines are shortened (Extreme: 25 s) so
the escalation example happens within the test.

One stack, three acts: `mid-year` leaves several indicators behind; `full-year` (its continuation) meets
every target; `full-year` again changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lsg_local import testing
from lsg_testkit.tokens import api_tokens, bearer, grant

pytestmark = [pytest.mark.integration, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

BIN = Path(sys.executable).parent
PRIVATE_PORT = 29592
ADMIN, EDITOR = "demo-test-admin", "demo-test-editor"
SERVICES = ("surveys", "training", "alerts", "reporting")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def private_kafka() -> Iterator[str]:
    from lsg_local.kafka import KafkaProcess

    base = Path(tempfile.gettempdir()) / "lsg-demo-test-kafka"
    probe = KafkaProcess(PRIVATE_PORT, PRIVATE_PORT + 1, base / "data", base / "logs")
    probe.stop(30)  # one left over by an interrupted run
    shutil.rmtree(base, ignore_errors=True)  # empty topics: the figures are this test's alone
    kafka = KafkaProcess(PRIVATE_PORT, PRIVATE_PORT + 1, base / "data", base / "logs")
    kafka.start(timeout=180)
    try:
        yield kafka.bootstrap
    finally:
        kafka.stop(30)


@pytest.fixture(scope="module")
def suite(
    private_kafka: str, infra: testing.Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    import asyncio

    logs = tmp_path_factory.mktemp("logs")
    dsns = {svc: asyncio.run(testing.create_database(infra.admin_dsn)) for svc in SERVICES}
    ports = {svc: _free_port() for svc in SERVICES}
    tokens = api_tokens(grant(ADMIN, "demo-admin", ["admin"]), grant(EDITOR, "demo-editor", ["editor"]))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LSG_", "OTEL_"))}
    base.update(
        {
            "LSG_KAFKA_BOOTSTRAP": private_kafka,
            "LSG_KAFKA_TOPIC_REPLICATION_FACTOR": "1",
            "LSG_API_TOKENS": tokens,
            "LSG_HTTP_HOST": "127.0.0.1",
            "LSG_SURVEYS_PSEUDONYM_KEY": "x" * 40,
            "LSG_TRAINING_PSEUDONYM_KEY": "y" * 40,
            # Extreme shortened so the escalation example escalates within the test, yet long enough that an
            # alert acknowledged "at once" is in time on a loaded 2-core CI machine (10 s was not, once).
            "LSG_ACK_DEADLINES_S": json.dumps({"Extreme": 25, "Severe": 300, "Moderate": 1800, "Unknown": 1800}),
            "LSG_SUPERVISION_INTERVAL_S": "1",
            "LSG_PUBLISH_INTERVAL_S": "0.5",
            "OTEL_SDK_DISABLED": "true",
        }
    )
    procs: dict[str, subprocess.Popen[bytes]] = {}
    files = {}
    try:
        for svc in SERVICES:
            env = dict(base, LSG_DATABASE_URL=dsns[svc], LSG_HTTP_PORT=str(ports[svc]))
            files[svc] = open(logs / f"{svc}.log", "wb")  # noqa: SIM115
            procs[svc] = subprocess.Popen(
                [str(BIN / f"lsg-{svc}"), "serve"],
                env=env,
                stdout=files[svc],
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        pending = set(SERVICES)
        while pending:
            for svc in list(pending):
                assert procs[svc].poll() is None, (logs / f"{svc}.log").read_text()[-3000:]
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{ports[svc]}/health/ready", timeout=2) as r:
                        if r.status == 200:
                            pending.discard(svc)
                except OSError:
                    pass
            assert time.monotonic() < deadline, f"not ready: {pending}"
            time.sleep(0.3)
        demo_env = dict(
            base,
            LSG_DEMO_ADMIN_TOKEN=ADMIN,
            LSG_DEMO_EDITOR_TOKEN=EDITOR,
            **{f"LSG_DEMO_{svc.upper()}_URL": f"http://127.0.0.1:{ports[svc]}" for svc in SERVICES},
        )
        yield {"env": demo_env, "ports": ports, "logs": logs}
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for fh in files.values():
            fh.close()
        for dsn in dsns.values():
            asyncio.run(testing.drop_database(infra.admin_dsn, dsn))


def _demo(suite: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "lsg-demo"), "--seed", "11", "--speed", "max", "--quiet", "--wait-timeout", "90", *args],
        env=suite["env"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    print(result.stdout, result.stderr[-3000:])
    return result


def _indicators(suite: dict[str, Any]) -> dict[str, dict[str, Any]]:
    url = f"http://127.0.0.1:{suite['ports']['reporting']}/v1/indicators"
    with urllib.request.urlopen(url, timeout=10) as r:
        return {i["code"]: i for i in json.load(r)["indicators"]}


def _reporting(suite: dict[str, Any], path: str) -> bytes:
    """A viewer's read of the reporting service (money and period reports, issue 27)."""
    url = f"http://127.0.0.1:{suite['ports']['reporting']}{path}"
    request = urllib.request.Request(url, headers=bearer(EDITOR))
    with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310 (local test URL)
        body: bytes = r.read()
        return body


def _alerts(suite: dict[str, Any]) -> list[dict[str, Any]]:
    """Diagnostics: when each alert was received and acknowledged."""
    url = f"http://127.0.0.1:{suite['ports']['alerts']}/v1/alerts?drills=include&limit=500"
    request = urllib.request.Request(url, headers=bearer(EDITOR))
    with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 (local test URL)
        items = json.load(r)["items"]
    keys = ("identifier", "kind", "severity", "state", "received_at", "ack_deadline", "acknowledged_at")
    return [{k: a[k] for k in keys} for a in items]


def _behind(figures: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(
        c for c, i in figures.items() if i["target"] is not None and (i["actual"] is None or i["actual"] < i["target"])
    )


def _scrape(suite: dict[str, Any], svc: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{suite['ports'][svc]}/metrics", timeout=5) as r:
        text = r.read().decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    assert name in samples, f"metric {name} is not exported"
    return sum(v for lab, v in samples[name] if all(lab.get(k) == x for k, x in labels.items()))


def _check_metrics(suite: dict[str, Any]) -> None:
    """The operations metrics (issue 13) after a simulated year: present on every service, values sensible."""
    for svc in SERVICES:
        m = _scrape(suite, svc)
        assert _value(m, "lsg_ready", service=svc) == 1, svc
        assert _value(m, "lsg_dependency_up", service=svc, dependency="kafka") == 1, svc
        assert _value(m, "lsg_http_request_duration_seconds_count", service=svc) > 0, svc
        assert _value(m, "lsg_http_request_duration_seconds_count", service=svc, status="500") == 0, svc
        assert _value(m, "lsg_db_pool_connections", service=svc, state="max") > 0, svc
        assert _value(m, "lsg_outbox_published_total", service=svc) > 0, svc
        assert _value(m, "lsg_outbox_backlog", service=svc) >= 0, svc
        assert 0 <= _value(m, "lsg_outbox_oldest_age_seconds", service=svc) < 60, svc
        assert _value(m, "lsg_outbox_publish_delay_seconds_count", service=svc) > 0, svc
    reporting = _scrape(suite, "reporting")
    assert _value(reporting, "lsg_events_consumed_total", outcome="processed") > 1000
    assert "lsg_consumer_lag" in reporting
    alerts = _scrape(suite, "alerts")
    assert _value(alerts, "lsg_devices", status="online") + _value(alerts, "lsg_devices", status="installed") >= 30
    assert "lsg_alerts_awaiting_ack" in alerts
    assert "lsg_alerts_overdue" in alerts
    assert _value(alerts, "lsg_alert_escalations_total") >= 1  # the scenario's escalation
    assert _value(alerts, "lsg_outbox_publish_delay_seconds_count", event_type="lv.lsg.alert.raised.v1") > 0


def test_mid_year_then_full_year_then_again(suite: dict[str, Any]) -> None:
    # Act 1: the state on 30 June. lsg-demo waits until the reporting consumer has caught up (lag 0, figures still).
    mid = _demo(suite, "--scenario", "mid-year")
    assert mid.returncode == 0
    figures = _indicators(suite)
    behind = _behind(figures)
    assert len(behind) >= 8, behind
    for code in (
        "SD.SURVEYS",
        "SD.FORUM",
        "CA.DEVICES_INSTALLED",
        "ED.STUDY_TOUR_PARTICIPANTS",
        "SD.SAT_INVOLVEMENT_TOP2",
        "CA.EMERGENCY_INFO_MATERIAL",
    ):
        assert code in behind, (code, figures[code])
    assert figures["SD.SURVEYS"]["actual"] == 2
    assert figures["CA.DEVICES_INSTALLED"]["actual"] == 15
    assert figures["ED.TRAINING_COMPLETED"]["actual"] == 35  # the training was held in May

    # Act 2: the rest of the year; the escalation example escalates (25 s deadline) and is acknowledged late.
    full = _demo(suite, "--scenario", "full-year", "--expect-targets", "--escalation-wait", "60")
    assert "escalated to" in full.stdout, full.stdout
    figures = _indicators(suite)
    if _behind(figures):
        print(json.dumps(_alerts(suite), indent=1, ensure_ascii=False)[:20000])
    assert _behind(figures) == [], {c: (figures[c]["actual"], figures[c]["target"]) for c in _behind(figures)}
    assert full.returncode == 0
    assert figures["SD.RESPONDENTS"]["actual"] >= 1000
    assert figures["CA.DEVICES_INSTALLED"]["actual"] == 35
    assert figures["CA.ALERTS_ACK_IN_TIME"]["denominator"] >= 10

    _check_metrics(suite)

    # the year's money: both period reports approved, P2 carrying the September correction of a June entry
    periods = json.loads(_reporting(suite, "/v1/periods"))["items"]
    assert [(p["period_id"], p["status"]) for p in periods] == [("P1", "approved"), ("P2", "approved")]
    p1_pdf = _reporting(suite, "/v1/periods/P1/report.pdf")
    p2 = json.loads(_reporting(suite, "/v1/periods/P2/report"))
    assert [a["adjustment_of"] for a in p2["adjustments"]["expenditure"]] == ["P1"]

    # Act 3: again, with --force: every step is a repeat the services recognise; no figure moves.
    before = {c: (i["numerator"], i["denominator"]) for c, i in figures.items() if i["aggregation"] != "availability"}
    again = _demo(suite, "--scenario", "full-year", "--force")
    assert again.returncode == 0
    after = {
        c: (i["numerator"], i["denominator"])
        for c, i in _indicators(suite).items()
        if i["aggregation"] != "availability"
    }
    assert after == before
    assert _reporting(suite, "/v1/periods/P1/report.pdf") == p1_pdf  # frozen: byte for byte
