"""Generates the published contracts from the code: JSON Schemas, the AsyncAPI 3.0 document, events.md.

``lsg-contracts`` writes them under ``docs/``; ``lsg-contracts --check`` fails when the checked-in files
differ from what the code generates (CI runs it, so the published contracts cannot go stale).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from lsg_events import ALL_EVENTS, topics
from lsg_events.base import EventData
from lsg_events.envelope import dataschema_for
from lsg_events.examples import EXAMPLES

VERSION = "1.0.0"


def json_schema(model: type[EventData]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    example = EXAMPLES[model].model_dump(mode="json")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": dataschema_for(model.event_type),
        "title": model.event_type,
        "description": model.description,
        "x-lsg-topic": model.topic,
        "x-lsg-key": model.key_field,
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
        "examples": [example],
    }


def asyncapi_yaml() -> str:
    broker = KafkaBroker(
        "kafka:9092", description="LSG Events: the suite's event streams (CloudEvents 1.0, binary mode)"
    )
    for model in ALL_EVENTS:
        spec = topics.TOPICS_BY_NAME[model.topic]
        broker.publisher(
            model.topic,
            title=f"{model.topic}:{model.event_type}",
            description=(
                f"{model.description} CloudEvents type `{model.event_type}`; key: {model.key_field}; "
                f"produced by {', '.join(spec.producers)}; consumed by {', '.join(spec.consumers)}."
            ),
            schema=model,
        )
    spec_doc = AsyncAPI(
        broker,
        title="LSG Events",
        version=VERSION,
        description=(
            "Event streams of the LSG Events suite. Every record is a CloudEvent in Kafka binary mode: the value "
            "is the JSON data described here; attributes travel as `ce_*` headers (`ce_id`, `ce_source`, "
            "`ce_type`, `ce_specversion`, `ce_time`, `ce_subject`, `ce_dataschema`, `ce_partitionkey`), plus "
            "`content-type: application/json` and the W3C `traceparent`. Deduplicate by `ce_source` + `ce_id`. "
            "Exception: `lsg.partner.input.v1` carries partners' own signed CAP alerts and heartbeats."
        ),
        schema_version="3.0.0",
    )
    doc = spec_doc.to_specification().to_jsonable()
    _declare_cloudevents_headers(doc)
    _describe_partner_input(doc)
    # FastStream builds channels from sets: sort keys so the document is byte-stable between runs.
    return str(yaml.safe_dump(doc, sort_keys=True, allow_unicode=True))


def cloudevents_headers(model: type[EventData]) -> dict[str, Any]:
    """The Kafka headers of one event type in CloudEvents binary mode (``lsg_events.envelope``)."""
    text = {"type": "string"}
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes as `ce_*` headers (Kafka protocol binding, binary mode); "
        "other `ce_*` headers are extensions.",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "content-type"],
        "properties": {
            "ce_specversion": {"const": "1.0", "description": "CloudEvents version"},
            "ce_id": {**text, "minLength": 1, "description": "Event id; with ce_source the deduplication key"},
            "ce_source": {**text, "minLength": 1, "description": "URI reference of the producer, e.g. /lsg/alerts"},
            "ce_type": {"const": model.event_type, "description": "Event type (the contract of the value)"},
            "ce_time": {**text, "format": "date-time", "description": "When it happened (RFC 3339, UTC)"},
            "ce_subject": {**text, "description": "What the event is about, within its source"},
            "ce_dataschema": {"const": dataschema_for(model.event_type), "description": "JSON Schema of the value"},
            "ce_partitionkey": {**text, "description": f"Kafka key: the event's {model.key_field}"},
            "content-type": {"const": "application/json", "description": "Media type of the value"},
            "traceparent": {
                **text,
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                "description": "W3C trace context, when the producer was tracing",
            },
            "tracestate": {**text, "description": "W3C trace context, vendor part"},
        },
    }


def _declare_cloudevents_headers(doc: dict[str, Any]) -> None:
    by_title = {f"{m.topic}:{m.event_type}:Message": m for m in ALL_EVENTS}
    for name, message in doc["components"]["messages"].items():
        model = by_title[name]
        message["headers"] = cloudevents_headers(model)
        message["contentType"] = "application/json"
        message["correlationId"] = {"location": "$message.header#/ce_id"}


PARTNER_SIGNATURE_HEADERS = {
    "x-lsg-partner": {"type": "string", "minLength": 1, "description": "The partner id"},
    "x-lsg-timestamp": {"type": "string", "pattern": "^[0-9]+$", "description": "Unix time in seconds"},
    "x-lsg-signature": {
        "type": "string",
        "pattern": "^v1=[0-9a-f]{64}$",
        "description": 'v1=<hex HMAC-SHA256 of timestamp + "." + value> with the partner\'s secret (the HTTP scheme)',
    },
}


def _describe_partner_input(doc: dict[str, Any]) -> None:
    """``lsg.partner.input.v1`` carries partners' own records, not CloudEvents: CAP 1.2 alerts (XML or JSON)
    and heartbeat objects, signed with the partner headers (services/alerts partner_topic, docs/partners.md)."""
    from lsg_events.alerts import DeviceHeartbeat

    old = f"{topics.PARTNER_INPUT}:{DeviceHeartbeat.event_type}"
    del doc["channels"][old]
    del doc["operations"][old]
    del doc["components"]["messages"][f"{old}:Message"]
    refused = (
        "Refused records go to `lsg.partner.input.v1.dlq` with `x-lsg-dlq-reason` and `x-lsg-dlq-error` "
        "(docs/partners.md)."
    )

    def headers(kind: str, content_types: list[str]) -> dict[str, Any]:
        return {
            "type": "object",
            "description": "Partner signature headers (not CloudEvents).",
            "required": ["x-lsg-partner", "x-lsg-timestamp", "x-lsg-signature"],
            "properties": {
                **PARTNER_SIGNATURE_HEADERS,
                "x-lsg-kind": {
                    "const": kind,
                    "description": "alert (the default when absent) or heartbeat",
                },
                "content-type": {"enum": content_types, "description": "Media type of the value"},
                "traceparent": {"type": "string", "description": "W3C trace context (optional)"},
            },
        }

    alert, heartbeat = f"{topics.PARTNER_INPUT}:PartnerAlert", f"{topics.PARTNER_INPUT}:PartnerHeartbeat"
    doc["components"]["messages"][alert] = {
        "title": alert,
        "name": "PartnerAlert",
        "summary": "A partner's CAP 1.2 alert document",
        "description": "A CAP 1.2 `alert` as XML (`application/cap+xml`, namespace "
        "urn:oasis:names:tc:emergency:cap:1.2) or in the HTTP door's JSON form (`application/cap+json`); "
        "key: the device id. " + refused,
        "contentType": "application/cap+xml",
        "headers": headers("alert", ["application/cap+xml", "application/cap+json", "application/json"]),
        "payload": {"type": "string", "description": "The CAP document (UTF-8), at most 1 MiB"},
    }
    doc["components"]["messages"][heartbeat] = {
        "title": heartbeat,
        "name": "PartnerHeartbeat",
        "summary": "A device reports it is alive",
        "description": "A heartbeat JSON object with the fields of `lv.lsg.device.heartbeat.v1`; key: the device "
        "id; `x-lsg-kind: heartbeat`. " + refused,
        "contentType": "application/json",
        "headers": headers("heartbeat", ["application/json"]),
        "payload": {"$ref": "#/components/schemas/DeviceHeartbeat"},
    }
    spec = topics.TOPICS_BY_NAME[topics.PARTNER_INPUT]
    doc["channels"][topics.PARTNER_INPUT] = {
        "address": topics.PARTNER_INPUT,
        "title": topics.PARTNER_INPUT,
        "description": "Partner input: partners' own signed records, not CloudEvents (partners need no SDK): "
        f"CAP 1.2 alerts and device heartbeats. Produced by {', '.join(spec.producers)}; consumed by "
        f"{', '.join(spec.consumers)}.",
        "bindings": {"kafka": {"bindingVersion": "0.4.0", "topic": topics.PARTNER_INPUT}},
        "messages": {
            "PartnerAlert": {"$ref": f"#/components/messages/{alert}"},
            "PartnerHeartbeat": {"$ref": f"#/components/messages/{heartbeat}"},
        },
        "servers": [{"$ref": "#/servers/development"}],
    }
    doc["operations"][topics.PARTNER_INPUT] = {
        "action": "receive",
        "title": "alerts/partner-door",
        "summary": "The alerts service's Kafka partner door",
        "channel": {"$ref": f"#/channels/{topics.PARTNER_INPUT}"},
        "messages": [
            {"$ref": f"#/channels/{topics.PARTNER_INPUT}/messages/PartnerAlert"},
            {"$ref": f"#/channels/{topics.PARTNER_INPUT}/messages/PartnerHeartbeat"},
        ],
    }


def events_md() -> str:
    lines = [
        "# Event catalogue",
        "",
        "<!-- Generated by `uv run lsg-contracts` from `shared/src/lsg_shared/events/`: do not edit by hand. -->",
        "",
        "Every event is a [CloudEvents 1.0](https://github.com/cloudevents/spec) event in Kafka **binary mode**:",
        "",
        "- record value: the event data as UTF-8 JSON (schemas below and in [`schemas/`](schemas/));",
        "- headers: `ce_specversion` (`1.0`), `ce_id`, `ce_source` (`/lsg/<service>`), `ce_type` (carries the",
        "  version, e.g. `lv.lsg.survey.completed.v1`), `ce_time` (RFC 3339, UTC), `ce_subject`, `ce_dataschema`,",
        "  `ce_partitionkey`, `content-type: application/json`, and the W3C `traceparent`;",
        "- record key: the entity whose events must stay in order (column *Key*).",
        "",
        "**Delivery** is at least once: a consumer deduplicates by `ce_source` + `ce_id`. **Versioning**: within a",
        "version (`.v1`) changes are additive (new optional fields); consumers must ignore fields they do not know.",
        "A breaking change is a new type (`.v2`) published side by side with the old one until it is retired.",
        "",
        "**Privacy**: no event carries a name, a contact or a free-text answer. People appear as pseudonymous",
        "keys (keyed hashes) with coarse demographics (age band, gender, role, settlement).",
        "",
        "## Topics",
        "",
        "| Topic | Partitions | Retention | Cleanup | Key | Producers | Consumers |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in topics.TOPICS:
        retention = "forever" if t.retention_ms < 0 else f"{t.retention_ms // topics.DAY_MS} days"
        lines.append(
            f"| `{t.name}` | {t.partitions} | {retention} | {t.cleanup_policy} | {t.key} | "
            f"{', '.join(t.producers)} | {', '.join(t.consumers)} |"
        )
    lines += [
        "",
        "Dead letters: a consumer that cannot process a record publishes it unchanged to `<topic>.dlq` with headers",
        "`x-lsg-dlq-reason` (a code: `invalid-data`, `missing-attribute`, `unknown-type`, `handler-error`...),",
        "`x-lsg-dlq-error`, `x-lsg-dlq-consumer`, `x-lsg-dlq-original-topic|partition|offset`, `x-lsg-dlq-attempts`.",
        "",
        "## Event types",
        "",
        "| Type | Topic | Key | Description | Schema |",
        "|---|---|---|---|---|",
    ]
    for model in ALL_EVENTS:
        lines.append(
            f"| `{model.event_type}` | `{model.topic}` | `{model.key_field}` | {model.description} | "
            f"[schema](schemas/{model.event_type}.json) |"
        )
    lines += ["", "## Examples", ""]
    for model in ALL_EVENTS:
        lines += [
            f"### `{model.event_type}`",
            "",
            "```json",
            json.dumps(EXAMPLES[model].model_dump(mode="json"), ensure_ascii=False, indent=2),
            "```",
            "",
        ]
    return "\n".join(lines)


def generate() -> dict[str, str]:
    """Relative path under docs/ -> content."""
    files = {
        f"schemas/{m.event_type}.json": json.dumps(json_schema(m), ensure_ascii=False, indent=2) + "\n"
        for m in ALL_EVENTS
    }
    files["asyncapi.yaml"] = asyncapi_yaml()
    files["events.md"] = events_md()
    return files


def snapshot(docs: Path, major: str) -> int:
    """Freeze the released schemas: the compatibility gate compares every later change against them."""
    folder = docs / "contracts" / major / "events"
    folder.mkdir(parents=True, exist_ok=True)
    for model in ALL_EVENTS:
        if model.event_type.endswith("." + major):
            path = folder / f"{model.event_type}.json"
            path.write_text(json.dumps(json_schema(model), ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(f"snapshot of {major} event schemas in {folder}")
    return 0


def compatibility_report(docs: Path) -> dict[str, list[str]]:
    """Breaking changes of the current schemas against every released snapshot (empty lists = compatible)."""
    from lsg_events import EVENT_TYPES
    from lsg_shared import compat

    report: dict[str, list[str]] = {}
    for path in sorted((docs / "contracts").glob("*/events/*.json")):
        event_type = path.stem
        model = EVENT_TYPES.get(event_type)
        if model is None:
            report[event_type] = ["event type removed (retire it explicitly: keep publishing until its end date)"]
            continue
        report[event_type] = compat.breaking_changes(compat.load(path), json_schema(model))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lsg-contracts", description=__doc__)
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="the docs folder (default: ./docs)")
    parser.add_argument("--check", action="store_true", help="fail if the checked-in files are stale")
    parser.add_argument(
        "--snapshot",
        metavar="MAJOR",
        help="record the current event schemas as the released contract of MAJOR (e.g. v1) under docs/contracts/",
    )
    args = parser.parse_args(argv)
    if args.snapshot:
        return snapshot(args.docs, args.snapshot)
    files = generate()
    stale = []
    for rel, content in files.items():
        path = args.docs / rel
        current = path.read_text("utf-8") if path.exists() else None
        if current != content:
            stale.append(rel)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, "utf-8")
    known = {f"schemas/{p.name}" for p in (args.docs / "schemas").glob("*.json")}
    orphans = sorted(known - set(files))
    if args.check:
        if stale or orphans:
            print("Contracts are stale; run `uv run lsg-contracts`:", *stale, *orphans, sep="\n  ", file=sys.stderr)
            return 1
        print(f"contracts current ({len(files)} files)")
        return 0
    for rel in orphans:
        (args.docs / rel).unlink()
    print(f"wrote {len(stale)} changed file(s), removed {len(orphans)}; {len(files)} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
