"""Scenario 5: in every topic the reporting service consumes, on one partition, in this order:

* a poison record (not even JSON): dead-lettered at once, reason in the headers;
* event N whose handler always fails: retried with backoff (``LSG_CONSUMER_RETRIES`` = 3) then dead-lettered
  (reason ``handler-error``, attempts 4); the partition is blocked no longer than that retry budget, and the
  other topics do not wait for it (one subscriber per topic: the four retries run side by side);
* N+1 (succeeds) and event M that fails twice and then succeeds: M is applied (never skipped), so is M+1;
* then event P whose database call fails as the infrastructure does (SQLSTATE 40001, twice): nothing is
  dead-lettered, the record is handed back uncommitted and applied once the fault clears, P+1 after it.

Faults are injected inside PostgreSQL (a trigger on the inbox raising for chosen event ids, counted by a
sequence so the count survives the rolled-back transactions); the service is not changed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest
from faults_harness import SCALE, dead_letters, fresh_topics, programme, record, start_reporting

from lsg_events import CloudEvent, topics
from lsg_local.testing import PrivateInfra, metric_value
from lsg_reporting.domain.catalogue import load
from lsg_reporting.domain.rules import Extractor
from lsg_shared import dlq

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

RETRIES, BACKOFF = 3, 0.2
BUDGET = sum(BACKOFF * 2**i for i in range(RETRIES))  # 0.2 + 0.4 + 0.8 s of pauses before the dead letter
SLACK = 10.0  # five transactions and a DLQ publish on a loaded 2-core machine

INJECT = """
CREATE TABLE fault_rule (event_id text PRIMARY KEY, fail_times bigint NOT NULL, seq text NOT NULL,
                         sqlstate text NOT NULL DEFAULT 'P0001');
CREATE FUNCTION fault_inject() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r fault_rule;
BEGIN
  SELECT * INTO r FROM fault_rule WHERE event_id = NEW.event_id;
  IF FOUND AND nextval(r.seq::regclass) <= r.fail_times THEN
    RAISE EXCEPTION 'injected fault for event %', NEW.event_id USING ERRCODE = r.sqlstate;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fault_inject BEFORE INSERT ON lsg_inbox FOR EACH ROW EXECUTE FUNCTION fault_inject();
"""


async def _rule(conn: asyncpg.Connection, event: CloudEvent, fail_times: int, sqlstate: str = "P0001") -> None:
    seq = f"fault_seq_{abs(hash(event.id)) % 10**12}"
    await conn.execute(f"CREATE SEQUENCE {seq}")
    await conn.execute("INSERT INTO fault_rule VALUES ($1, $2, $3, $4)", event.id, fail_times, seq, sqlstate)


def _records(topic: str, items: list[CloudEvent | None]) -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    """One key for the whole sequence: one partition, so the order holds. None is the poison record."""
    key = f"faults-{topic}".encode()
    out = []
    for e in items:
        if e is None:
            out.append((topic, key, b"{not json", [("ce_specversion", b"1.0"), ("ce_id", b"poison")]))
        else:
            _, value, headers = e.to_kafka()
            out.append((topic, key, value, [(k, v.encode()) for k, v in headers.items()]))
    return out


async def _produce_raw(bootstrap: str, records: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    from faults_harness import produce

    await produce(bootstrap, [], records)


async def _applied(conn: asyncpg.Connection, group: str, events: list[CloudEvent]) -> dict[str, float]:
    rows = await conn.fetch(
        "SELECT event_id, extract(epoch FROM received_at) AS at FROM lsg_inbox WHERE consumer = $1 "
        "AND event_id = ANY($2)",
        group,
        [e.id for e in events],
    )
    return {r["event_id"]: float(r["at"]) for r in rows}


@pytest.mark.timeout(600)
async def test_poison_and_failing_events_in_every_topic(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    await fresh_topics(private.kafka_bootstrap)
    extractor = Extractor(load())
    prog = programme("poison", seed=3)
    pool: dict[str, list[CloudEvent]] = {}
    for e in prog.events:  # distinct events that make facts, per topic
        if extractor.facts((e,)) and all(x.id != e.id for x in pool.get(e.topic, [])):
            pool.setdefault(e.topic, []).append(e)
    consumed = (topics.SURVEYS, topics.TRAINING, topics.ALERTS, topics.REPORTING)
    plan = {t: dict(zip(("A", "N", "N1", "M", "M1", "P", "P1"), pool[t][:7], strict=True)) for t in consumed}

    rep = await start_reporting(
        private,
        tmp_path,
        LSG_CONSUMER_RETRIES=str(RETRIES),
        LSG_CONSUMER_RETRY_BACKOFF_S=str(BACKOFF),
    )
    conn = await asyncpg.connect(rep.dsn)
    try:
        await conn.execute(INJECT)
        for t in consumed:
            await _rule(conn, plan[t]["N"], 10**9)  # always fails: a handler error
            await _rule(conn, plan[t]["M"], 2)  # fails twice, then succeeds
            await _rule(conn, plan[t]["P"], 2, sqlstate="40001")  # serialization failure: "infrastructure"

        # ---- phase 1: poison, N (always fails), N+1, M (fails twice), M+1 -------------------------------------
        t0 = time.time()
        for t in consumed:
            p = plan[t]
            await _produce_raw(private.kafka_bootstrap, _records(t, [None, p["A"], p["N"], p["N1"], p["M"], p["M1"]]))
        phase1 = [plan[t][k] for t in consumed for k in ("A", "N1", "M", "M1")]
        deadline = time.monotonic() + 120
        while len(done := await _applied(conn, rep.group, phase1)) < len(phase1):
            assert time.monotonic() < deadline, f"applied {sorted(done)} of {[e.id for e in phase1]}"
            await asyncio.sleep(0.2)
        # this partition's wait behind its own N (A is applied just before N, N+1 just after it) ...
        blocked = {t: done[plan[t]["N1"].id] - done[plan[t]["A"].id] for t in consumed}
        # ... and nobody else's: one subscriber per topic, so each topic waits for its own N only
        waited = {t: done[plan[t]["N1"].id] - t0 for t in consumed}
        never = await _applied(conn, rep.group, [plan[t]["N"] for t in consumed])
        assert never == {}, "an always-failing event was recorded as applied"
        for t in consumed:
            # N was retried with its backoff before N+1 went through, and not for longer than the budget
            assert BUDGET <= blocked[t] <= BUDGET + SLACK, (t, blocked[t])
            assert waited[t] <= BUDGET + SLACK, (t, waited[t])  # the per-topic budget, not topics x budget
            facts = await conn.fetchval("SELECT count(*) FROM fact WHERE event_id = $1", plan[t]["M"].id)
            assert facts > 0, f"{t}: event M (failed twice, then succeeded) has no facts"

        # The four topics' retries ran side by side: with one consumer retrying one record at a time they
        # would follow each other, and the span from the first A to the last N+1 would be at least the sum
        # of the four blocked windows.
        span = max(done[plan[t]["N1"].id] for t in consumed) - min(done[plan[t]["A"].id] for t in consumed)
        assert span < sum(blocked.values()), (span, blocked)

        letters = await dead_letters(private.kafka_bootstrap, *[topics.dlq_topic(t) for t in consumed], expect=8)
        by_topic: dict[str, list[tuple[str, str, str]]] = {}
        for r in letters:
            by_topic.setdefault(r.headers[dlq.ORIGINAL_TOPIC], []).append(
                (r.headers[dlq.REASON], r.headers.get("ce_id", ""), r.headers[dlq.ATTEMPTS])
            )
        for t in consumed:
            got = sorted(by_topic.get(t, []))
            reasons = {reason for reason, _, _ in got}
            assert len(got) == 2, (t, got)  # the poison and N, each once
            assert "handler-error" in reasons, (t, got)
            handler = next(g for g in got if g[0] == "handler-error")
            assert handler[1] == plan[t]["N"].id, (t, handler)
            assert handler[2] == str(RETRIES + 1), (t, handler)  # retried, then dead-lettered

        # ---- phase 2: P fails like the infrastructure (3 times), then P+1 ---------------------------------------
        t1 = time.time()
        for t in consumed:
            await _produce_raw(private.kafka_bootstrap, _records(t, [plan[t]["P"], plan[t]["P1"]]))
        phase2 = [plan[t][k] for t in consumed for k in ("P", "P1")]
        deadline = time.monotonic() + 240
        while len(done2 := await _applied(conn, rep.group, phase2)) < len(phase2):
            assert time.monotonic() < deadline, f"applied {sorted(done2)} of {[e.id for e in phase2]}"
            await asyncio.sleep(0.2)
        for t in consumed:
            assert done2[plan[t]["P"].id] <= done2[plan[t]["P1"].id] + 1e-3  # P is not overtaken by P+1
        extra = await dead_letters(private.kafka_bootstrap, *[topics.dlq_topic(t) for t in consumed], expect=8)
        assert len(extra) == 8, "an infrastructure fault must not dead-letter anything"
    finally:
        await conn.close()
    m = await rep.service.metrics()
    stalls = metric_value(m, "lsg_consumer_infrastructure_errors_total", consumer=rep.group)
    retried = metric_value(m, "lsg_events_retried_total", consumer=rep.group)
    assert stalls >= 2, stalls  # the hand-backs happened (the fault was really hit)
    assert rep.service.alive()
    rep.service.stop()
    record(
        "s5_poison",
        topics=list(consumed),
        dead_letters=len(letters),
        blocked_by_own_poison_s={t: round(v, 1) for t, v in blocked.items()},
        blocked_windows_span_s=round(span, 1),
        next_record_applied_after_s={t: round(v, 1) for t, v in waited.items()},
        retry_budget_s=round(BUDGET, 2),
        retries=int(retried),
        infrastructure_hand_backs=int(stalls),
        phase2_s=round(max(done2.values()) - t1, 1),
        scale=SCALE.name,
        seconds=round(time.monotonic() - started, 1),
    )
