"""Scenario 2: SIGTERM under load (a rolling restart's pod stop).

First on the reporting service while it consumes a programme year and takes HTTP writes (deliverables,
published through its outbox). Each stop drains within the grace period (no SIGKILL needed); no HTTP write
acknowledged before the stop is lost, none counts twice; the consumer commits its offsets again after each
restart (no commit-failure loop); the final figures equal the oracle plus the acknowledged writes.

Then on each of the other services (surveys, training, alerts) under its own HTTP write load (survey
responses; participant registration and check-in; signed partner alerts) from several concurrent clients:
a request in flight at the SIGTERM completes (2xx, its event published) or fails cleanly (refused, reset,
503) and is repeated with the same identity; every acknowledged write has exactly one event on the
service's topic (the outbox: none lost, none twice); each stop drains within the grace period.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet
from faults_harness import (
    EDITOR,
    SCALE,
    assert_year_with_deliverables,
    extended,
    fresh_topics,
    produce,
    programme,
    record,
    service_test_module,
    start_reporting,
    start_service,
)

from lsg_events import topics
from lsg_events.partner import signed_headers
from lsg_local.testing import PrivateInfra, collect, unique
from lsg_testkit.alerts import cap_json
from lsg_testkit.tokens import bearer

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
COMMIT_FAILURE = re.compile(r"CommitFailed|commit.*fail|fail.*commit", re.IGNORECASE)


@pytest.mark.timeout(900)
async def test_sigterm_under_load_drains_within_grace(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    await fresh_topics(private.kafka_bootstrap)
    prog = programme("term", seed=21)
    rep = await start_reporting(private, tmp_path, LSG_CONSUMER_MAX_RECORDS="200")
    acknowledged: dict[str, int] = {}
    refused = 0
    stop_writing = asyncio.Event()

    async def writer() -> None:
        """Deliverables, one after another; a write that fails (service stopping) is repeated, same id."""
        nonlocal refused
        i = 0
        async with httpx.AsyncClient(base_url=rep.service.url, timeout=10) as client:
            while not stop_writing.is_set():
                body = {
                    "deliverable_id": f"faults-term-{i}",
                    "kind": "brochure_lsg",
                    "quantity": 1 + i % 7,
                    "language": "lv",
                    "recorded_on": (date(2025, 6, 1) + timedelta(days=i % 150)).isoformat(),
                }
                try:
                    r = await client.post("/v1/deliverables", json=body, headers=bearer(EDITOR))
                except httpx.TransportError:
                    refused += 1
                    await asyncio.sleep(0.2)
                    continue
                if r.status_code in (200, 201):
                    acknowledged[body["deliverable_id"]] = body
                    i += 1
                else:
                    assert r.status_code == 503, r.text  # not ready yet: the same write is repeated
                    refused += 1
                    await asyncio.sleep(0.2)

    task = asyncio.create_task(writer())
    stops = []
    try:
        await produce(private.kafka_bootstrap, prog.events)
        for n in range(2):
            target = prog.unique_events * (n + 1) // 4
            deadline = time.monotonic() + 180
            while await rep.inbox() < target:
                assert time.monotonic() < deadline, rep.service.log_tail()
                await asyncio.sleep(0.1)
            before = len(acknowledged)
            code, took = await asyncio.to_thread(rep.service.stop, SCALE.grace_s)
            stops.append({"exit": code, "seconds": round(took, 1), "writes_before": before})
            assert code in (0, -15), f"stop {n}: exit {code} (killed after the {SCALE.grace_s}s grace period?)"
            assert took < SCALE.grace_s
            rep.service.start()
            await rep.service.wait_ready(120)
        await asyncio.sleep(2)
    finally:
        stop_writing.set()
        await task
    assert len(acknowledged) >= 5, acknowledged

    posted = list(acknowledged.values())
    _, published = await assert_year_with_deliverables(rep, prog, posted)
    async with collect(rep.bootstrap, topics.REPORTING) as seen:

        def ours(c: object) -> list[str]:
            return [
                e.data.deliverable_id
                for e in seen.events("lv.lsg.deliverable.recorded.v1")
                if e.data.deliverable_id.startswith("faults-term")
            ]

        await seen.wait_for(lambda c: len(set(ours(c))) >= len(posted), 60, "every acknowledged write on the topic")
        await asyncio.sleep(2)
        on_topic = ours(seen)
    assert sorted(set(on_topic)) == sorted(acknowledged)
    duplicates_on_topic = len(on_topic) - len(set(on_topic))
    assert duplicates_on_topic == 0, "a graceful stop published an outbox row twice"
    failures = [line for line in rep.service.log_tail(10**7).splitlines() if COMMIT_FAILURE.search(line)]
    assert len(failures) <= 2 * len(stops), failures[:10]
    rep.service.stop()
    record(
        "s2_sigterm",
        events=prog.unique_events,
        http_writes_acknowledged=len(acknowledged),
        http_writes_repeated=refused,
        stops=stops,
        grace_s=SCALE.grace_s,
        commit_failure_lines=len(failures),
        indicator_updated_records=published,
        seconds=round(time.monotonic() - started, 1),
    )


# ---- the rolling restart of the other services, each under its own HTTP write load -------------------------------
surveys_kit = service_test_module("surveys_support", "services/surveys/tests/surveys_support.py")
training_kit = service_test_module("training_support", "services/training/tests/training_support.py")
alerts_kit = service_test_module("alerts_test_conftest", "services/alerts/tests/conftest.py")
WRITERS = 4  # concurrent clients, so that requests are in flight when the SIGTERM lands
ACCEPTED = (200, 201, 202)


class Refused(Exception):
    """503 (not ready, shutting down): the client repeats the same write."""


@dataclass
class Load:
    """One service's write: ``setup`` once, then ``write(i)`` returns the identity of what was acknowledged;
    ``on_topic`` lists the identity of every event the writes caused (one per acknowledged write)."""

    service: str
    topic: str
    env: dict[str, str]
    ctx: dict[str, Any] = field(default_factory=dict)

    async def setup(self, client: httpx.AsyncClient) -> None:
        if self.service == "surveys":
            k = surveys_kit
            cid = unique("faults-term").replace("_", "-")
            r = await client.post("/v1/campaigns", json=k.survey_body(cid), headers=k.auth(k.ADMIN))
            assert r.status_code == 201, r.text
            r = await client.post(f"/v1/campaigns/{cid}/open", headers=k.auth(k.ADMIN))
            assert r.status_code == 200, r.text
            self.ctx["campaign"] = cid
        elif self.service == "training":
            pid, sessions = await training_kit.setup_programme(client, unique("FT"))
            self.ctx.update(programme=pid, session=sessions["M1"])
        else:
            pid, secret = await alerts_kit.create_partner(client, unique("faults-term"))
            self.ctx.update(partner=pid, secret=secret, device=await alerts_kit.install_device(client, pid))

    async def write(self, client: httpx.AsyncClient, i: int) -> str:
        if self.service == "surveys":
            k, cid = surveys_kit, self.ctx["campaign"]
            body = k.response_body(i, submission_id=f"faults-term-{i}")
            r = self._answer(await client.post(f"/v1/campaigns/{cid}/responses", json=body, headers=k.auth(k.EDITOR)))
            return str(r.json()["response_id"])
        if self.service == "training":
            k, ref = training_kit, f"FT-{i}"
            person = {"ref": ref, "full_name": f"Dalībnieks {i}", "role": "elder", "country": "LV"}
            person.update(gender="female", place=k.PLACE_LV)
            params = {"programme_id": self.ctx["programme"]}
            self._answer(await client.post("/v1/participants", json=person, params=params, headers=k.E))
            r = await client.post(f"/v1/sessions/{self.ctx['session']}/attendance", json={"ref": ref}, headers=k.E)
            return str(self._answer(r).json()["participant_id"])
        ident = f"faults-term-{i}"
        # A repeat is the same document: CAP identifies a message by sender, identifier and sent, and a new
        # `sent` would be a new message (a kill can lose the answer to an attempt that was stored).
        bodies = self.ctx.setdefault("bodies", {})
        if i not in bodies:
            bodies[i] = cap_json(identifier=ident, device_id=self.ctx["device"], status="Actual", severity="Minor")
        body = bodies[i]
        path = f"/v1/partners/{self.ctx['partner']}/alerts"
        self._answer(await client.post(path, content=body, headers=signed_headers(self.ctx["secret"], body)))
        return ident  # 202, or 200 duplicate when an earlier attempt went through but its answer was lost

    @staticmethod
    def _answer(r: httpx.Response) -> httpx.Response:
        if r.status_code == 503:
            raise Refused
        assert r.status_code in ACCEPTED, f"{r.status_code} {r.text[:300]}"
        return r

    def on_topic(self, seen: Any) -> list[str]:
        return [identity for identity, _ in self.on_topic_ids(seen)]

    def on_topic_ids(self, seen: Any) -> list[tuple[str, str]]:
        """(identity of the write, CloudEvent id) of every record the writes caused."""
        if self.service == "surveys":
            events = seen.events("lv.lsg.survey.response.recorded.v1")
            return [(e.data.response_id, e.id) for e in events if e.data.campaign_id == self.ctx["campaign"]]
        if self.service == "training":
            return [
                (e.data.participant_key, e.id)
                for e in seen.events("lv.lsg.training.attended.v1")
                if e.data.programme_id == self.ctx["programme"] and e.data.module_code == "M1"
            ]
        return [(e.data.identifier, e.id) for e in seen.events(RAISED) if e.data.partner_id == self.ctx["partner"]]

    async def stored(self, dsn: str) -> Counter[str]:
        """The rows the writes stored, by the identity ``on_topic`` uses (training: attendance rows of the
        session, by participant id; its events name participants by a pseudonymous key, so only counts compare)."""
        conn = await asyncpg.connect(dsn)
        try:
            if self.service == "surveys":
                sql, arg = "SELECT response_id::text FROM survey_responses WHERE campaign_id = $1", "campaign"
            elif self.service == "training":
                sql, arg = "SELECT participant_id::text FROM attendance WHERE session_id = $1 AND present", "session"
            else:
                sql, arg = "SELECT identifier FROM alerts WHERE partner_id = $1 AND kind = 'cap'", "partner"
            return Counter(r[0] for r in await conn.fetch(sql, self.ctx[arg]))
        finally:
            await conn.close()


RAISED = "lv.lsg.alert.raised.v1"
OUTBOX_BATCH = 500  # LSG_OUTBOX_BATCH_SIZE default: the most one relay round sends before marking


@dataclass
class Writes:
    """WRITERS clients writing through a service's HTTP API while it is stopped or killed: what was acknowledged,
    what was repeated (and why), and how the requests under way at each stop or kill ended."""

    acknowledged: list[str] = field(default_factory=list)
    repeated: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)  # outcome of the requests under way at a stop/kill
    stop_times: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def writer(self, load: Load, url: str, w: int) -> None:
        i, pending = w, False  # pending: a write that failed is finished (repeated) even after the stop
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            while not self.stop.is_set() or pending:
                began = time.monotonic()
                try:
                    key = await load.write(client, i)
                    outcome = "2xx"
                except httpx.TransportError as exc:
                    key, outcome = None, type(exc).__name__
                except Refused:
                    key, outcome = None, "503"
                ended = time.monotonic()
                if any(began < t <= ended for t in self.stop_times):
                    self.in_flight[outcome] += 1
                if key is None:
                    self.repeated[outcome] += 1
                    pending = True
                    await asyncio.sleep(0.2)
                    continue  # the same write again
                pending = False
                self.acknowledged.append(key)
                i += WRITERS


LOADS = {
    "surveys": lambda: Load(
        "surveys",
        topics.SURVEYS,
        {"LSG_API_TOKENS": surveys_kit.TOKENS, "LSG_PSEUDONYM_KEY": surveys_kit.PSEUDONYM_KEY},
    ),
    "training": lambda: Load(
        "training",
        topics.TRAINING,
        {"LSG_API_TOKENS": training_kit.TOKENS, "LSG_TRAINING_PSEUDONYM_KEY": training_kit.PSEUDONYM_KEY},
    ),
    "alerts": lambda: Load(
        "alerts",
        topics.ALERTS,
        {
            "LSG_API_TOKENS": alerts_kit.TOKENS,
            "LSG_ALERTS_SECRETS_KEY": Fernet.generate_key().decode(),
            "LSG_PARTNER_GROUP_ID": unique("alerts-partner-input"),
            "LSG_PARTNER_RATE_PER_S": "10000",  # scenario 8 floods the limit; here every write must pass it
            "LSG_PARTNER_RATE_BURST": "10000",
        },
    ),
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ["surveys", "training", "alerts"])
async def test_sigterm_under_http_load_every_service(private: PrivateInfra, tmp_path: Path, name: str) -> None:
    """SIGTERM to surveys, training or alerts while WRITERS clients write through its HTTP API, then restart
    it. A request in flight at the SIGTERM either completes (2xx: its event goes out through the outbox) or
    fails cleanly (connection refused or reset, 503) and is repeated, same identity, by its client. Every
    acknowledged write has exactly one event on the service's topic; none is lost, none doubled."""
    started = time.monotonic()
    load = LOADS[name]()
    service, _ = await start_service(name, private, tmp_path, **load.env)
    w = Writes()
    acknowledged, repeated, in_flight, stop_times, stop_writing = (
        w.acknowledged,
        w.repeated,
        w.in_flight,
        w.stop_times,
        w.stop,
    )

    stops = []
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        await load.setup(client)
    tasks = [asyncio.create_task(w.writer(load, service.url, n)) for n in range(WRITERS)]
    try:
        for n in range(SCALE.term_stops):
            target = len(acknowledged) + 20
            deadline = time.monotonic() + 60
            while len(acknowledged) < target:
                assert time.monotonic() < deadline, f"no writes acknowledged:\n{service.log_tail()}"
                assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
                await asyncio.sleep(0.05)
            before = len(acknowledged)
            stop_times.append(time.monotonic())
            code, took = await asyncio.to_thread(service.stop, SCALE.grace_s)
            stops.append({"exit": code, "seconds": round(took, 1), "writes_before": before})
            assert code in (0, -15), f"stop {n}: exit {code} (killed after the {SCALE.grace_s}s grace period?)"
            assert took < SCALE.grace_s
            service.start()
            await service.wait_ready(120)
        target = len(acknowledged) + 20  # writes after the last restart too
        deadline = time.monotonic() + 60
        while len(acknowledged) < target:
            assert time.monotonic() < deadline, f"no writes after the restart:\n{service.log_tail()}"
            await asyncio.sleep(0.05)
    finally:
        stop_writing.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == [], errors  # e.g. a 500 from a request cut short by the shutdown

    assert len(set(acknowledged)) == len(acknowledged), "one write acknowledged under two identities"
    assert sum(in_flight.values()) >= len(stops), "no request was in flight when a SIGTERM landed"
    async with collect(private.kafka_bootstrap, load.topic) as seen:
        if name == "training":  # the event names the participant by a pseudonymous key, not the id the API answers

            def complete(c: Any) -> bool:
                return len(set(load.on_topic(c))) >= len(acknowledged)
        else:

            def complete(c: Any) -> bool:
                return set(load.on_topic(c)) >= set(acknowledged)

        await seen.wait_for(complete, 90, "an event for every acknowledged write")
        await asyncio.sleep(2)  # a second copy of anything would be here by now
        on_topic = load.on_topic(seen)
    duplicates = len(on_topic) - len(set(on_topic))
    if name == "training":
        assert len(set(on_topic)) == len(acknowledged)
    else:
        assert set(on_topic) == set(acknowledged), "an event without an acknowledged write, or the reverse"
    assert duplicates == 0, "a write published twice across the restart"
    failures = [line for line in service.log_tail(10**7).splitlines() if COMMIT_FAILURE.search(line)]
    assert len(failures) <= 2 * len(stops), failures[:10]
    service.stop()
    record(
        f"s2_sigterm_{name}",
        writes_acknowledged=len(acknowledged),
        writes_repeated=dict(repeated),
        in_flight_at_sigterm=dict(in_flight),
        stops=stops,
        grace_s=SCALE.grace_s,
        events_on_topic=len(on_topic),
        duplicates=duplicates,
        commit_failure_lines=len(failures),
        seconds=round(time.monotonic() - started, 1),
    )


@extended
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ["surveys", "training", "alerts"])
async def test_sigkill_under_http_load_every_service(private: PrivateInfra, tmp_path: Path, name: str) -> None:
    """Issue 29, its scenario 2: SIGKILL (a crash: no drain, no shutdown) to surveys, training or alerts while
    WRITERS clients write through its HTTP API, then restart it. A request cut by the kill fails in transit and
    is repeated, same identity. Every acknowledged write has exactly one event and one stored row; no event
    exists without its row; after the restart the outbox drains (what was committed but not yet published when
    the process died goes out once)."""
    started = time.monotonic()
    load = LOADS[name]()
    service, dsn = await start_service(name, private, tmp_path, **load.env)
    w = Writes()
    kills = []
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        await load.setup(client)
    tasks = [asyncio.create_task(w.writer(load, service.url, n)) for n in range(WRITERS)]
    try:
        for _ in range(max(2, SCALE.term_stops)):
            target = len(w.acknowledged) + 20
            deadline = time.monotonic() + 60
            while len(w.acknowledged) < target:
                assert time.monotonic() < deadline, f"no writes acknowledged:\n{service.log_tail()}"
                assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
                await asyncio.sleep(0.05)
            w.stop_times.append(time.monotonic())
            code = service.kill()
            unpublished = await _unpublished(dsn)
            kills.append({"exit": code, "writes_before": len(w.acknowledged), "outbox_unpublished": unpublished})
            service.start()
            kills[-1]["ready_after_s"] = round(await service.wait_ready(120), 1)
        target = len(w.acknowledged) + 20
        deadline = time.monotonic() + 60
        while len(w.acknowledged) < target:
            assert time.monotonic() < deadline, f"no writes after the restart:\n{service.log_tail()}"
            await asyncio.sleep(0.05)
    finally:
        w.stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == [], errors  # e.g. a 500 from a request cut short by the kill

    assert len(set(w.acknowledged)) == len(w.acknowledged), "one write acknowledged under two identities"
    async with collect(private.kafka_bootstrap, load.topic) as seen:
        await seen.wait_for(
            lambda c: len(set(load.on_topic(c))) >= len(w.acknowledged), 90, "an event for every acknowledged write"
        )
        await asyncio.sleep(2)  # a second copy of anything would be here by now
        on_topic = load.on_topic(seen)
    drained_s = await _drained(dsn, 60)
    rows = await load.stored(dsn)
    service.stop()
    ids_of: dict[str, set[str]] = {}
    for identity, event_id in load.on_topic_ids(seen):
        ids_of.setdefault(identity, set()).add(event_id)
    # The relay marks a batch published after Kafka acknowledged it: a kill between the two sends that batch
    # again after the restart, as the same events (same CloudEvent ids), which consumers' inboxes deduplicate.
    # What must never happen is a second event for one write (another id), or a write with no event.
    two_events = {k: v for k, v in ids_of.items() if len(v) > 1}
    redelivered = len(on_topic) - len(ids_of)
    assert two_events == {}, f"writes with two different events: {list(two_events.items())[:5]}"
    assert redelivered <= len(kills) * OUTBOX_BATCH, f"{redelivered} copies: more than one relay batch per kill"
    assert max(rows.values()) == 1, "a write stored twice"
    assert len(rows) == len(w.acknowledged), f"{len(rows)} rows for {len(w.acknowledged)} acknowledged writes"
    if name == "training":  # pseudonymous keys on the topic: counts compare
        assert len(ids_of) == len(rows) == len(w.acknowledged)
    else:
        assert set(ids_of) == set(w.acknowledged), "an event without an acknowledged write, or the reverse"
        assert set(ids_of) <= set(rows), "an event without its stored row"
    record(
        f"s2_sigkill_{name}",
        title=f"2. SIGKILL {name} under HTTP writes",
        writes_acknowledged=len(w.acknowledged),
        writes_repeated=dict(w.repeated),
        in_flight_at_kill=dict(w.in_flight),
        kills=kills,
        events_on_topic=len(on_topic),
        rows=sum(rows.values()),
        distinct_events=len(ids_of),
        redelivered_copies_same_event_id=redelivered,
        writes_with_two_events=len(two_events),
        outbox_drained_after_s=round(drained_s, 1),
        seconds=round(time.monotonic() - started, 1),
    )


async def _unpublished(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM lsg_outbox WHERE published_at IS NULL"))
    finally:
        await conn.close()


async def _drained(dsn: str, timeout: float) -> float:
    started = time.monotonic()
    while (left := await _unpublished(dsn)) > 0:
        assert time.monotonic() - started < timeout, f"{left} outbox rows still unpublished after {timeout}s"
        await asyncio.sleep(0.5)
    return time.monotonic() - started
