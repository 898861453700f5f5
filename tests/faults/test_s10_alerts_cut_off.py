"""Scenario 10 (issue 29, its scenario 3): the alerts service cut off from Kafka, then from PostgreSQL, while a
partner keeps sending signed CAP alerts over HTTP (every fifth one Extreme, never acknowledged, escalating after
a few seconds).

Kafka stopped: every alert is still accepted (202, held in the outbox: nothing published meanwhile), and the
escalation deadlines still fire, because they are stored rows the supervisor scans in PostgreSQL, not timers in
memory: the alerts' escalation count grows in the database while the broker is away. Once Kafka is back every
accepted alert is raised once and every escalation step is published once, stamped on time.

PostgreSQL stopped, then (with the server running) the network to it cut through the test's proxy: the door
answers 503 problem+json with Retry-After, never 500, never a 202 that is later lost; the partner's repeat of
the same document is accepted once (202, or 200 duplicate when an attempt had gone through). The service is
never restarted.

Asserted at the end: every acknowledged alert has exactly one ``alert.raised`` (none missing, none extra, none
twice) and exactly one row; no ``alert.raised`` exists without its row; no escalation step of any alert is
published twice; the outbox is empty.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from alerts_faults import (
    Partner,
    escalation_steps,
    once_each,
    pending_outbox,
    raised_by,
    raised_records,
    start_alerts,
    stored_alerts,
)
from faults_harness import SCALE, extended, record
from proxy import TcpProxy

from lsg_events import topics
from lsg_local.testing import PrivateInfra, collect

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow, extended]
DEADLINE_S = 3.0  # Extreme alerts escalate after this (and then again every DEADLINE_S: the ladder's top repeats)
SUPERVISION_S = 0.5
TOLERANCE_S = 3.0  # scheduling on a loaded 2-core machine, on top of one supervision interval
EXTREME_EVERY = 5
OUTBOX_BATCH = 500  # LSG_OUTBOX_BATCH_SIZE's default


@pytest.mark.timeout(900)
async def test_alerts_cut_off_from_kafka_then_postgres(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    proxy = await TcpProxy(private.postgres.port).start()
    service, dsn = await start_alerts(
        private, tmp_path, extreme_deadline_s=DEADLINE_S, supervision_s=SUPERVISION_S, db_port=proxy.port
    )
    phase = "before"
    phases: dict[str, dict[str, int]] = {}
    stop = asyncio.Event()
    outage_s = SCALE.outage_s
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            partner = await Partner.register(client, "cutoff")

            async def sender() -> None:
                i = 0
                while not stop.is_set():
                    severity = "Extreme" if i % EXTREME_EVERY == 0 else "Minor"
                    at, refused = phase, partner.refused_503
                    status = await partner.deliver(client, f"cut-{i}", severity)
                    counts = phases.setdefault(at, {"sent": 0, "accepted": 0, "answered_503": 0})
                    counts["sent"] += 1
                    counts["accepted"] += status in (200, 202)
                    counts["answered_503"] += partner.refused_503 - refused
                    i += 1
                    await asyncio.sleep(0.1)

            task = asyncio.create_task(sender())
            await asyncio.sleep(2)

            # ---- Kafka away: accepted, held in the outbox, escalations stored ----------------------------
            phase = "kafka_stopped"
            await asyncio.to_thread(private.kafka.stop, 30)
            kafka_stopped_at = datetime.now(UTC)
            await asyncio.sleep(outage_s)
            assert not task.done(), task
            held = await pending_outbox(dsn)
            escalated_while_away = await _escalated_in_db(dsn, since=kafka_stopped_at + timedelta(seconds=1))
            assert held > 0, "nothing held in the outbox while Kafka was away"
            assert escalated_while_away > 0, "no escalation stored while Kafka was away (timers in memory?)"
            ready_while_kafka_away = await service.is_ready()
            await asyncio.to_thread(private.kafka.start, 180)
            phase = "kafka_back"
            await asyncio.sleep(3)

            # ---- PostgreSQL stopped: 503 with Retry-After, never 500 ---------------------------------------
            phase = "postgres_stopped"
            refused_before = partner.refused_503
            await asyncio.to_thread(private.postgres.stop, 30)
            await asyncio.sleep(outage_s)
            await asyncio.to_thread(private.postgres.start, 120)
            refused_while_stopped = partner.refused_503 - refused_before
            phase = "postgres_back"
            await asyncio.sleep(3)

            # ---- the network to PostgreSQL cut (server running) ---------------------------------------------
            phase = "network_cut"
            refused_before = partner.refused_503
            proxy.refuse = True
            connections_cut = proxy.cut()
            await asyncio.sleep(outage_s / 2)
            proxy.refuse = False
            refused_while_cut = partner.refused_503 - refused_before
            phase = "after"
            await asyncio.sleep(3)
            stop.set()
            await task
            assert service.starts == 1, "the service was restarted"
            await service.wait_ready(60)

        accepted = {(partner.partner_id, ident) for ident in partner.accepted}
        extreme_ids = {aid for ident, aid in partner.accepted.items() if partner.severity[ident] == "Extreme" and aid}
        async with collect(private.kafka_bootstrap, topics.ALERTS) as seen:
            await seen.wait_for(
                lambda c: (
                    {(e.data.partner_id, e.data.identifier) for e in raised_by(c, {partner.partner_id})} >= accepted
                ),
                120,
                "every accepted alert raised",
            )
            await asyncio.sleep(3)  # a second copy of anything would be here by now
            records = raised_records(seen, {partner.partner_id})
            events = [r.event for r in records]
            steps = escalation_steps(seen, extreme_ids)
            escalations = [e for e in seen.events("lv.lsg.alert.escalated.v1") if e.data.alert_id in extreme_ids]
        rows = await stored_alerts(dsn, {partner.partner_id})
        left_in_outbox = await pending_outbox(dsn)
        service.stop()
    finally:
        stop.set()
        await proxy.stop()

    verdict = once_each(records, accepted)
    assert partner.unexpected == [], partner.unexpected[:5]  # a 500, or a refusal a partner cannot act on
    assert partner.bad_503 == [], partner.bad_503[:3]
    assert set(partner.statuses) <= {200, 202, 503}, partner.statuses
    assert refused_while_stopped > 0, "PostgreSQL stopped and the door never answered 503"
    assert refused_while_cut > 0, "the network to PostgreSQL cut and the door never answered 503"
    kafka_away = phases["kafka_stopped"]
    assert kafka_away["answered_503"] == 0, f"writes refused while only Kafka was away: {kafka_away}"
    assert (verdict["missing"], verdict["extra"], verdict["duplicates"]) == (0, 0, 0), verdict
    assert verdict["redelivered"] <= 3 * OUTBOX_BATCH, verdict  # at most a relay batch per outage
    wrong_id = [e.data.identifier for e in events if partner.accepted[e.data.identifier] not in ("", e.data.alert_id)]
    assert wrong_id == [], "alert.raised carries another alert id than the 202 answered"
    assert set(rows) == accepted, "an acknowledged alert without its row, or a row nobody acknowledged"
    assert max(rows.values()) == 1, "an alert stored twice"
    assert {(e.data.partner_id, e.data.identifier) for e in events} <= set(rows), "an event without its row"
    assert [k for k, n in steps.items() if n > 1] == [], "an escalation step published twice"
    first = {e.data.alert_id: e for e in escalations if e.data.escalation_count == 1}
    deadline_of = {e.data.alert_id: e.data.ack_deadline for e in events if e.data.alert_id in extreme_ids}
    late = [(first[a].data.escalated_at - deadline_of[a]).total_seconds() for a in first]
    assert min(late) >= 0, "an alert escalated before its deadline"
    during_kafka = [a for a in first if kafka_stopped_at < deadline_of[a] < kafka_stopped_at + timedelta(seconds=8)]
    assert during_kafka, "no deadline fell while Kafka was away"
    late_kafka = [(first[a].data.escalated_at - deadline_of[a]).total_seconds() for a in during_kafka]
    assert max(late_kafka) <= SUPERVISION_S + TOLERANCE_S, f"escalations while Kafka was away were late: {late_kafka}"
    assert left_in_outbox == 0
    record(
        "s10_alerts_cut_off",
        title="10. Alerts cut off from Kafka, then PostgreSQL (stopped, network cut)",
        outage_s=outage_s,
        phases=phases,
        statuses=dict(partner.statuses),
        held_in_outbox_while_kafka_away=held,
        escalations_stored_while_kafka_away=escalated_while_away,
        ready_while_kafka_away=ready_while_kafka_away,
        answered_503_while_postgres_stopped=refused_while_stopped,
        answered_503_while_network_cut=refused_while_cut,
        connections_cut=connections_cut,
        transport_errors=dict(partner.transport_errors),
        accepted=len(accepted),
        raised=len({e.id for e in events}),
        rows=sum(rows.values()),
        **verdict,
        extreme_alerts=len(extreme_ids),
        escalation_steps=sum(steps.values()),
        escalation_late_s_max_kafka_away=round(max(late_kafka), 2),
        escalation_late_s_max=round(max(late), 2),
        service_restarts=service.starts - 1,
        seconds=round(time.monotonic() - started, 1),
    )


async def _escalated_in_db(dsn: str, since: datetime) -> int:
    """Alerts whose deadline passed after ``since`` and that the database shows escalated (read beside the
    proxy: the test reaches PostgreSQL directly)."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM alerts WHERE ack_deadline > $1 AND ack_deadline < now() - interval '1 second' "
                "AND escalation_count >= 1",
                since,
            )
        )
    finally:
        await conn.close()
