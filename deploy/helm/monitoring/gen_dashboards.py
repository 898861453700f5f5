"""Writes the Grafana dashboards (JSON) the chart provisions: `python deploy/helm/monitoring/gen_dashboards.py`.

Generated rather than hand-edited so every panel stays small and consistent; `--check` fails when the
files under lsg/files/dashboards/ are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "lsg" / "files" / "dashboards"


def panel(
    pid: int,
    title: str,
    exprs: list[tuple[str, str]],
    x: int,
    y: int,
    unit: str = "short",
    kind: str = "timeseries",
    w: int = 12,
    h: int = 8,
) -> dict[str, Any]:
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(65 + i), "expr": expr, "legendFormat": legend} for i, (expr, legend) in enumerate(exprs)
        ],
    }


def dashboard(uid: str, title: str, panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["lsg-events"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}]
        },
        "panels": panels,
    }


DASHBOARDS: dict[str, dict[str, Any]] = {
    "lsg-overview.json": dashboard(
        "lsg-overview",
        "LSG Events: suite overview",
        [
            panel(1, "Ready services", [("sum(lsg_ready)", "ready")], 0, 0, kind="stat", w=6),
            panel(
                2, "Dependencies down", [("count(lsg_dependency_up == 0) or vector(0)", "down")], 6, 0, kind="stat", w=6
            ),
            panel(
                3,
                "Dead letters (1h)",
                [("sum(increase(lsg_dead_letters_total[1h]))", "dead letters")],
                12,
                0,
                kind="stat",
                w=6,
            ),
            panel(
                4,
                "Outbox oldest row",
                [("max(lsg_outbox_oldest_age_seconds)", "oldest")],
                18,
                0,
                unit="s",
                kind="stat",
                w=6,
            ),
            panel(
                5,
                "HTTP requests by service",
                [("sum by (service) (rate(lsg_http_request_duration_seconds_count[5m]))", "{{service}}")],
                0,
                8,
                unit="reqps",
            ),
            panel(
                6,
                "HTTP 5xx ratio",
                [
                    (
                        'sum by (service) (rate(lsg_http_request_duration_seconds_count{status=~"5.."}[5m])) / '
                        "clamp_min(sum by (service) (rate(lsg_http_request_duration_seconds_count[5m])), 1e-9)",
                        "{{service}}",
                    )
                ],
                12,
                8,
                unit="percentunit",
            ),
            panel(
                7,
                "HTTP p95 latency by route",
                [
                    (
                        "histogram_quantile(0.95, sum by (le, service, route) "
                        "(rate(lsg_http_request_duration_seconds_bucket[5m])))",
                        "{{service}} {{route}}",
                    )
                ],
                0,
                16,
                unit="s",
            ),
            panel(
                8,
                "Database pool in use",
                [('sum by (service) (lsg_db_pool_connections{state="in_use"})', "{{service}}")],
                12,
                16,
            ),
        ],
    ),
    "lsg-event-flow.json": dashboard(
        "lsg-event-flow",
        "LSG Events: event flow per topic",
        [
            panel(
                1,
                "Events consumed by outcome",
                [("sum by (consumer, outcome) (rate(lsg_events_consumed_total[5m]))", "{{consumer}} {{outcome}}")],
                0,
                0,
                unit="ops",
            ),
            panel(
                2, "Consumer lag by topic", [("sum by (group, topic) (lsg_consumer_lag)", "{{group}} {{topic}}")], 12, 0
            ),
            panel(
                3,
                "Outbox published",
                [("sum by (service) (rate(lsg_outbox_published_total[5m]))", "{{service}}")],
                0,
                8,
                unit="ops",
            ),
            panel(4, "Outbox backlog", [("sum by (service) (lsg_outbox_backlog)", "{{service}}")], 12, 8),
            panel(
                5,
                "Write-to-broker delay p99 by event type",
                [
                    (
                        "histogram_quantile(0.99, sum by (le, event_type) "
                        "(rate(lsg_outbox_publish_delay_seconds_bucket[5m])))",
                        "{{event_type}}",
                    )
                ],
                0,
                16,
                unit="s",
            ),
            panel(
                6,
                "Retries and infrastructure hand-backs",
                [
                    ("sum by (consumer) (rate(lsg_events_retried_total[5m]))", "retried {{consumer}}"),
                    (
                        "sum by (consumer) (rate(lsg_consumer_infrastructure_errors_total[5m]))",
                        "hand-back {{consumer}}",
                    ),
                ],
                12,
                16,
                unit="ops",
            ),
        ],
    ),
    "lsg-alerts-devices.json": dashboard(
        "lsg-alerts-devices",
        "LSG Events: alerts and devices",
        [
            panel(1, "Devices by status", [("sum by (status) (lsg_devices)", "{{status}}")], 0, 0),
            panel(
                2,
                "Alerts awaiting acknowledgement",
                [("sum by (severity) (lsg_alerts_awaiting_ack)", "{{severity}}")],
                12,
                0,
            ),
            panel(3, "Overdue (past deadline)", [("sum by (severity) (lsg_alerts_overdue)", "{{severity}}")], 0, 8),
            panel(
                4, "Escalations", [("sum by (level) (increase(lsg_alert_escalations_total[1h]))", "{{level}}")], 12, 8
            ),
            panel(
                5,
                "Accept to alert.raised published, p50/p99",
                [
                    (
                        "histogram_quantile(0.5, sum by (le) (rate(lsg_outbox_publish_delay_seconds_bucket"
                        '{event_type="lv.lsg.alert.raised.v1"}[5m])))',
                        "p50",
                    ),
                    (
                        "histogram_quantile(0.99, sum by (le) (rate(lsg_outbox_publish_delay_seconds_bucket"
                        '{event_type="lv.lsg.alert.raised.v1"}[5m])))',
                        "p99",
                    ),
                ],
                0,
                16,
                unit="s",
                w=24,
            ),
        ],
    ),
    "lsg-reporting-freshness.json": dashboard(
        "lsg-reporting-freshness",
        "LSG Events: reporting freshness",
        [
            panel(
                1,
                "Reporting consumer lag",
                [('sum by (topic) (lsg_consumer_lag{group=~"reporting.*"})', "{{topic}}")],
                0,
                0,
            ),
            panel(
                2,
                "Events applied per second",
                [
                    (
                        "sum by (event_type) "
                        '(rate(lsg_events_consumed_total{consumer=~"reporting.*",outcome="processed"}[5m]))',
                        "{{event_type}}",
                    )
                ],
                12,
                0,
                unit="ops",
            ),
            panel(
                3,
                "Duplicates skipped",
                [
                    (
                        'sum(rate(lsg_events_consumed_total{consumer=~"reporting.*",outcome="duplicate"}[5m]))',
                        "duplicates",
                    )
                ],
                0,
                8,
                unit="ops",
            ),
            panel(
                4,
                "Dead letters",
                [('sum by (reason) (increase(lsg_dead_letters_total{consumer=~"reporting.*"}[1h]))', "{{reason}}")],
                12,
                8,
            ),
        ],
    ),
}


def main(argv: list[str]) -> int:
    stale = []
    for name, content in DASHBOARDS.items():
        text = json.dumps(content, indent=2, ensure_ascii=False) + "\n"
        path = OUT / name
        if not path.exists() or path.read_text() != text:
            stale.append(name)
            if "--check" not in argv:
                OUT.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if "--check" in argv and stale:
        print("stale dashboards (run deploy/helm/monitoring/gen_dashboards.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
