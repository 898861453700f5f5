"""``lsg-admin``: the operator's commands from the runbooks.

    lsg-admin dlq list   --topic lsg.surveys.events.v1.dlq [--limit 50] [--json]
    lsg-admin dlq replay --topic lsg.surveys.events.v1.dlq (--offset N ... | --all) [--dry-run]
    lsg-admin outbox status --database-url postgresql://...
    lsg-admin topics list
    lsg-admin audit export (--service alerts | --database-url postgresql://...) [--since 2026-01-01]
                           [--until ...] [--subject ops-bot] [--action 'POST /v1/partners*'] [--format csv|jsonl]
                           [--output FILE]
    lsg-admin audit prune  (--service alerts | --database-url ...) [--days 400]
    lsg-admin audit anonymise (--service alerts | --database-url ...) --days 90
    lsg-admin person erase  [--email E] [--phone P] [--ref R] [--name N --country LV] [--login L]
                            [--local training=<participant id> ...] [--request-id ID]
    lsg-admin person status --request-id ID
    lsg-admin person access [--email E] [...] --service training=https://training.example/ [...]

``person erase`` publishes ``person.erasure_requested`` on ``lsg.privacy.requests.v1`` carrying only subject tokens
(keyed hashes under ``LSG_PRIVACY_SUBJECT_KEY``, see ``lsg_shared.privacy``) and the service-local ids given; each
service that holds personal data erases and confirms with ``person.erasure_completed`` (counts only), which
``person status`` lists. ``person access`` asks each service's ``POST /v1/privacy/access`` over HTTP (bearer token
``LSG_ADMIN_TOKEN``) and prints one JSON document: an export holds the personal data itself, so it never travels
on Kafka. Kafka settings come from the usual ``LSG_KAFKA_*`` variables. A replay publishes the dead letter's original
key, value and headers back to its original topic (the ``x-lsg-dlq-*`` headers are dropped) and records
what it replayed in the consumer group ``lsg-admin-dlq-replay`` so the same letter is not replayed twice by
``--all``. Consumers are idempotent, so replaying an event that did get applied is harmless.

``audit export`` streams a service's audit log (``lsg_shared.audit``) straight from its database (the
``--service`` name reads ``LSG_<SERVICE>_DATABASE_URL``, as ``lsg-infra env`` and ``make run`` set it), oldest
first, as CSV or JSON lines; the export is itself recorded in the log (``audit.exported``, the operating system
user as subject, ``auth = operator``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from lsg_events.envelope import CloudEvent, PoisonMessage, from_kafka
from lsg_events.privacy import PersonErasureCompleted, PersonErasureRequested
from lsg_events.topics import PRIVACY as PRIVACY_TOPIC
from lsg_shared import audit, dlq, privacy
from lsg_shared.kafka import client_kwargs
from lsg_shared.settings import KafkaSettings

REPLAY_GROUP = "lsg-admin-dlq-replay"


@dataclass
class Letter:
    partition: int
    offset: int
    original_topic: str
    reason: str
    error: str
    consumer: str
    attempts: str
    failed_at: str
    ce_type: str | None
    ce_id: str | None
    key: str | None


async def _read_all(settings: KafkaSettings, topic: str, limit: int | None = None) -> list[Any]:
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            raise SystemExit(f"topic {topic!r} does not exist")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []

        async def behind() -> bool:
            for tp in tps:
                if await consumer.position(tp) < ends[tp]:
                    return True
            return False

        while await behind():
            batch = await consumer.getmany(*tps, timeout_ms=1000)
            for items in batch.values():
                records.extend(items)
            if limit is not None and len(records) >= limit:
                break
        return sorted(records, key=lambda r: (r.partition, r.offset))[: limit or None]
    finally:
        await consumer.stop()


def _letter(record: Any) -> Letter:
    headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or ())}
    return Letter(
        partition=record.partition,
        offset=record.offset,
        original_topic=headers.get(dlq.ORIGINAL_TOPIC, "?"),
        reason=headers.get(dlq.REASON, "?"),
        error=headers.get(dlq.ERROR, ""),
        consumer=headers.get(dlq.CONSUMER, "?"),
        attempts=headers.get(dlq.ATTEMPTS, "?"),
        failed_at=headers.get(dlq.FAILED_AT, "?"),
        ce_type=headers.get("ce_type"),
        ce_id=headers.get("ce_id"),
        key=record.key.decode("utf-8", "replace") if record.key else None,
    )


async def dlq_list(settings: KafkaSettings, topic: str, limit: int, as_json: bool) -> int:
    letters = [_letter(r) for r in await _read_all(settings, topic, limit)]
    if as_json:
        print(json.dumps([asdict(letter) for letter in letters], ensure_ascii=False, indent=2))
        return 0
    if not letters:
        print(f"{topic}: empty")
        return 0
    print(f"{'partition':>9} {'offset':>7}  {'reason':<24} {'type':<40} error")
    for letter in letters:
        print(
            f"{letter.partition:>9} {letter.offset:>7}  {letter.reason:<24} {letter.ce_type or '-':<40} "
            f"{letter.error[:100]}"
        )
    print(f"{len(letters)} dead letter(s)")
    return 0


async def dlq_replay(
    settings: KafkaSettings, topic: str, offsets: list[int] | None, replay_all: bool, dry_run: bool
) -> int:
    records = await _read_all(settings, topic)
    tracker = AIOKafkaConsumer(**client_kwargs(settings), group_id=REPLAY_GROUP, enable_auto_commit=False)
    await tracker.start()
    try:
        # Manual assignment: the group only stores our replay position, it never balances members.
        tracker.assign([TopicPartition(topic, p) for p in {r.partition for r in records}])
        done: dict[int, int] = {}
        for partition in {r.partition for r in records}:
            committed = await tracker.committed(TopicPartition(topic, partition))
            done[partition] = committed or 0
        if replay_all:
            chosen = [r for r in records if r.offset >= done.get(r.partition, 0)]
        else:
            wanted = set(offsets or [])
            chosen = [r for r in records if r.offset in wanted]
            missing = wanted - {r.offset for r in chosen}
            if missing:
                print(f"no dead letter at offset(s) {sorted(missing)} in {topic}", file=sys.stderr)
                return 2
        if not chosen:
            print("nothing to replay")
            return 0
        producer = AIOKafkaProducer(**client_kwargs(settings), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for record in chosen:
                letter = _letter(record)
                headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("x-lsg-dlq-")]
                action = "would replay" if dry_run else "replayed"
                if not dry_run:
                    await producer.send_and_wait(letter.original_topic, record.value, key=record.key, headers=headers)
                print(
                    f"{action} {topic}[{record.partition}]@{record.offset} -> {letter.original_topic} ({letter.reason})"
                )
        finally:
            await producer.stop()
        if replay_all and not dry_run:
            highest: dict[int, int] = {}
            for record in chosen:
                highest[record.partition] = max(highest.get(record.partition, 0), record.offset + 1)
            await tracker.commit({TopicPartition(topic, p): OffsetAndMetadata(o, "") for p, o in highest.items()})
        return 0
    finally:
        await tracker.stop()


async def outbox_status(database_url: str, as_json: bool) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            """
            SELECT count(*) FILTER (WHERE published_at IS NULL) AS pending,
                   count(*) FILTER (WHERE published_at IS NOT NULL) AS published,
                   extract(epoch FROM now() - min(created_at) FILTER (WHERE published_at IS NULL)) AS oldest_s,
                   max(published_at) AS last_published
            FROM lsg_outbox
            """
        )
        error = await conn.fetchrow(
            "SELECT seq, event_type, attempts, last_error FROM lsg_outbox "
            "WHERE published_at IS NULL AND last_error IS NOT NULL ORDER BY seq LIMIT 1"
        )
    finally:
        await conn.close()
    assert row is not None  # an aggregate always returns one row
    status = {
        "pending": row["pending"],
        "published": row["published"],
        "oldest_pending_age_s": float(row["oldest_s"]) if row["oldest_s"] is not None else None,
        "last_published": row["last_published"].isoformat() if row["last_published"] else None,
        "blocking_error": dict(error) if error else None,
    }
    if as_json:
        print(json.dumps(status, indent=2, default=str))
    else:
        for key, value in status.items():
            print(f"{key:>22}: {value}")
    return 0


async def topics_list(settings: KafkaSettings) -> int:
    from lsg_events.topics import TOPICS

    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        existing = await consumer.topics()
        for spec in TOPICS:
            state = "present" if spec.name in existing else "MISSING"
            print(f"{spec.name:<40} {state:<8} partitions={spec.partitions} cleanup={spec.cleanup_policy}")
    finally:
        await consumer.stop()
    return 0


def _audit_database(service: str | None, database_url: str | None) -> str:
    if database_url:
        return database_url
    variable = f"LSG_{(service or '').upper()}_DATABASE_URL"
    found = os.environ.get(variable)
    if not found:
        raise SystemExit(f"lsg-admin audit: set {variable} or pass --database-url")
    return found


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def audit_export(
    database_url: str,
    out: TextIO,
    fmt: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    subject: str | None = None,
    action: str | None = None,
) -> int:
    sql, args = audit.query(since=since, until=until, subject=subject, action=action)
    conn = await asyncpg.connect(database_url)
    count = 0
    try:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        async with conn.transaction(readonly=True, isolation="repeatable_read"):
            header = True
            async for row in conn.cursor(sql, *args, prefetch=1000):
                item = audit.as_dict(row)
                if fmt == "csv":
                    for line in audit.csv_lines([item], header=header):
                        out.write(line)
                    header = False
                else:
                    out.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
                count += 1
            if fmt == "csv" and header:
                out.write("".join(audit.csv_lines([])))
        filters = {"since": since, "until": until, "subject": subject, "action": action}
        await conn.execute(
            audit.INSERT,
            datetime.now(UTC),
            "lsg-admin",
            "change",
            audit.clean(getpass.getuser()),
            "operator",
            [],
            [],
            [],
            "audit.exported",
            {},
            {"format": fmt, "rows": count, **{k: str(v) for k, v in filters.items() if v is not None}},
            None,
            None,
            None,
            None,
            None,
            "lsg-admin",
        )
    finally:
        await conn.close()
    out.flush()
    print(f"{count} audit row(s) exported", file=sys.stderr)
    return 0


async def audit_prune(database_url: str, days: int) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        pruned = await audit.prune(conn, days)
    finally:
        await conn.close()
    print(f"{pruned} audit row(s) older than {days} days deleted")
    return 0


async def audit_anonymise(database_url: str, days: int) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        changed = await audit.anonymise(conn, days)
    finally:
        await conn.close()
    print(f"{changed} audit row(s) older than {days} days anonymised (subject, addresses, user agent)")
    return 0


def _subject_key() -> str:
    key = os.environ.get("LSG_PRIVACY_SUBJECT_KEY")
    if key:
        return key
    if os.environ.get("LSG_ENVIRONMENT", "development") in ("development", "test", "local"):
        return privacy.DEVELOPMENT_KEY
    raise SystemExit("lsg-admin person: set LSG_PRIVACY_SUBJECT_KEY (the key every service shares for this)")


def erasure_request(
    key: str,
    *,
    request_id: str | None = None,
    local: list[str] | None = None,
    now: datetime | None = None,
    **identifiers: str | None,
) -> PersonErasureRequested:
    """The request for these identifiers: tokens and local ids only (``local`` items are ``service=id``)."""
    local_ids: dict[str, list[str]] = {}
    for item in local or []:
        service, sep, value = item.partition("=")
        if not sep or not service or not value:
            raise SystemExit(f"--local {item!r}: expected service=id")
        local_ids.setdefault(service, []).append(value)
    tokens = privacy.subject_tokens(key, **identifiers)
    if not tokens and not local_ids:
        raise SystemExit(
            "lsg-admin person: give at least one identifier (--email, --phone, --ref, --name --country, ...)"
        )
    return PersonErasureRequested(
        request_id=request_id or f"er-{uuid.uuid4()}",
        requested_at=now or datetime.now(UTC),
        subject_tokens=tokens,
        local_ids=local_ids,
    )


async def person_erase(settings: KafkaSettings, request: PersonErasureRequested) -> int:
    event = CloudEvent(data=request, source="/lsg/admin")
    key, value, headers = event.to_kafka()
    producer = AIOKafkaProducer(**client_kwargs(settings), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(event.topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()
    print(json.dumps({"request_id": request.request_id, "subject_tokens": len(request.subject_tokens)}))
    return 0


async def person_status(settings: KafkaSettings, request_id: str) -> int:
    from lsg_events import EVENT_TYPES

    done = []
    for record in await _read_all(settings, PRIVACY_TOPIC):
        try:
            event = from_kafka(record.value, record.headers, EVENT_TYPES)
        except PoisonMessage:
            continue
        if isinstance(event.data, PersonErasureCompleted) and event.data.request_id == request_id:
            done.append(event.data.model_dump(mode="json"))
    print(json.dumps({"request_id": request_id, "completed": done}, ensure_ascii=False, indent=2))
    return 0


def person_access(key: str, services: list[str], token: str | None, **identifiers: str | None) -> int:
    import urllib.request

    tokens = privacy.subject_tokens(key, **identifiers)
    if not tokens:
        raise SystemExit("lsg-admin person access: give at least one identifier")
    out: dict[str, Any] = {}
    for item in services:
        name, _, url = item.partition("=")
        request = urllib.request.Request(  # noqa: S310 (the operator's own service URLs)
            url.rstrip("/") + "/v1/privacy/access",
            data=json.dumps({"subject_tokens": tokens}).encode(),
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            out[name] = json.loads(answer.read())
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lsg-admin", description="LSG Events operator commands")
    sub = parser.add_subparsers(dest="area", required=True)
    dlq_p = sub.add_parser("dlq", help="dead-letter topics").add_subparsers(dest="action", required=True)
    ls = dlq_p.add_parser("list", help="list dead letters with their reasons")
    ls.add_argument("--topic", required=True)
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--json", action="store_true")
    rp = dlq_p.add_parser("replay", help="publish dead letters back to their original topic")
    rp.add_argument("--topic", required=True)
    group = rp.add_mutually_exclusive_group(required=True)
    group.add_argument("--offset", type=int, action="append", help="offset to replay (repeatable)")
    group.add_argument("--all", action="store_true", help="every letter not replayed before")
    rp.add_argument("--dry-run", action="store_true")
    ob = sub.add_parser("outbox", help="transactional outbox").add_subparsers(dest="action", required=True)
    st = ob.add_parser("status", help="backlog, age of the oldest pending row, last error")
    st.add_argument("--database-url", required=True, help="the service's database (LSG_DATABASE_URL)")
    st.add_argument("--json", action="store_true")
    tp = sub.add_parser("topics", help="the topic registry").add_subparsers(dest="action", required=True)
    tp.add_parser("list", help="registry topics and whether they exist on the cluster")
    au = sub.add_parser("audit", help="a service's audit log").add_subparsers(dest="action", required=True)
    ex = au.add_parser("export", help="export the audit log as CSV or JSON lines, oldest first")
    pr = au.add_parser("prune", help="delete audit rows older than the retention")
    an = au.add_parser("anonymise", help="blank the user identity of audit rows older than --days")
    an.add_argument("--days", type=int, required=True)
    for command in (ex, pr, an):
        where = command.add_mutually_exclusive_group(required=True)
        where.add_argument("--service", choices=("surveys", "training", "alerts", "reporting"))
        where.add_argument("--database-url", help="the service's database (LSG_DATABASE_URL)")
    ex.add_argument("--since", help="ISO 8601 time (UTC without a zone), inclusive")
    ex.add_argument("--until", help="ISO 8601 time, exclusive")
    ex.add_argument("--subject")
    ex.add_argument("--action", dest="audit_action", help="exact, or a prefix ending in *")
    ex.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    ex.add_argument("--output", help="file to write (default: standard output)")
    pr.add_argument("--days", type=int, default=400)
    sc = sub.add_parser("secrets", help="secrets of a one-machine install").add_subparsers(dest="action", required=True)
    ini = sc.add_parser("init", help="generate services.env and tokens.env in a folder once (compose's first start)")
    ini.add_argument("folder", help="where to keep them (a volume in compose)")
    ini.add_argument("--owner", type=int, help="uid to give the files to (the services' user, 10001)")
    pe = sub.add_parser("person", help="a person's data: erasure and access").add_subparsers(
        dest="action", required=True
    )
    er = pe.add_parser("erase", help="publish person.erasure_requested (every service erases and confirms)")
    ac = pe.add_parser("access", help="everything each service holds about the person, as one JSON")
    for command in (er, ac):
        for flag in ("email", "phone", "ref", "name", "country", "login"):
            command.add_argument(f"--{flag}")
    er.add_argument("--local", action="append", help="service=id of the person in that service (repeatable)")
    er.add_argument("--request-id")
    ac.add_argument("--service", action="append", required=True, help="name=base URL (repeatable)")
    ps = pe.add_parser("status", help="the services that confirmed an erasure request")
    ps.add_argument("--request-id", required=True)
    args = parser.parse_args(argv)
    if args.area == "person" and args.action in ("erase", "access"):
        ids = {f: getattr(args, f) for f in ("email", "phone", "ref", "name", "country", "login")}
        if args.action == "access":
            return person_access(_subject_key(), args.service, os.environ.get("LSG_ADMIN_TOKEN"), **ids)
        request = erasure_request(_subject_key(), request_id=args.request_id, local=args.local, **ids)
        return asyncio.run(person_erase(KafkaSettings(), request))
    if args.area == "person":
        return asyncio.run(person_status(KafkaSettings(), args.request_id))
    if args.area == "secrets":
        from pathlib import Path

        from lsg_shared import local_secrets

        folder = Path(args.folder)
        _, created = local_secrets.init(folder)
        if args.owner is not None:
            for name in ("services.env", "tokens.env"):
                os.chown(folder / name, args.owner, args.owner)
        print(f"secrets {'generated' if created else 'kept'} in {folder}")
        return 0
    if args.area == "audit":
        url = _audit_database(args.service, args.database_url)
        if args.action == "prune":
            return asyncio.run(audit_prune(url, args.days))
        if args.action == "anonymise":
            return asyncio.run(audit_anonymise(url, args.days))
        target = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
        try:
            return asyncio.run(
                audit_export(
                    url,
                    target,
                    args.format,
                    since=_when(args.since),
                    until=_when(args.until),
                    subject=args.subject,
                    action=args.audit_action,
                )
            )
        finally:
            if target is not sys.stdout:
                target.close()
    settings = KafkaSettings()
    if args.area == "dlq" and args.action == "list":
        return asyncio.run(dlq_list(settings, args.topic, args.limit, args.json))
    if args.area == "dlq" and args.action == "replay":
        return asyncio.run(dlq_replay(settings, args.topic, args.offset, args.all, args.dry_run))
    if args.area == "outbox":
        return asyncio.run(outbox_status(args.database_url, args.json))
    if args.area == "topics":
        return asyncio.run(topics_list(settings))
    parser.error("unknown command")
    return 2


if __name__ == "__main__":
    sys.exit(main())
