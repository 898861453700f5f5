"""Scenario 8: alerts under a partner flood and a partner outage.

Partner A floods the HTTP door with signed CAP alerts (full: 10 000 in about 60 s; short: 1 500 in about
10 s with a proportionally lower limit), far past its token bucket (``LSG_PARTNER_RATE_PER_S`` /
``LSG_PARTNER_RATE_BURST``). Meanwhile partner B sends a steady trickle, with an Extreme alert now and then
that nobody acknowledges (its deadline shortened to a few seconds through ``LSG_ACK_DEADLINES_S``), and
partner C goes silent (no heartbeats, no alerts) long enough for supervision to take its device offline,
then comes back with a burst: every alert it had sent before (a partner unsure what got through repeats
them) and new ones.

Asserted: A gets 429 (problem+json, Retry-After) past its limit and no more than the bucket admits; B gets no
429 and every B alert is accepted; every accepted alert (202) is on ``lsg.alerts.events.v1`` as
``alert.raised`` exactly once (by alert id and by CloudEvent id; none missing, none extra); C's repeats answer
200 duplicate and raise nothing; C's device goes offline once during its silence and online again; every
unacknowledged Extreme alert of B escalates once, no earlier than its deadline and no later than the deadline
plus one supervision interval plus the stated tolerance, during the flood.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from faults_harness import SCALE, record, service_test_module, start_service

from lsg_events import topics
from lsg_events.partner import signed_headers
from lsg_local.testing import PrivateInfra, RawHttp, collect, unique
from lsg_testkit.alerts import cap_json, heartbeat_json

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

# the alerts tests' own fixtures module: tokens, partner creation, device installation (reused, not copied)
alerts_kit = service_test_module("alerts_test_conftest", "services/alerts/tests/conftest.py")


@dataclass(frozen=True)
class Flood:
    alerts: int  # partner A's requests
    seconds: float  # over this long (open loop)
    rate_per_s: float  # LSG_PARTNER_RATE_PER_S
    burst: int  # LSG_PARTNER_RATE_BURST
    extreme_every_s: float  # B: one unacknowledged Extreme alert this often


FLOODS = {
    "short": Flood(alerts=1500, seconds=10, rate_per_s=25, burst=50, extreme_every_s=3),
    "full": Flood(alerts=10_000, seconds=60, rate_per_s=50, burst=200, extreme_every_s=10),
}
FLOOD = FLOODS[SCALE.name]
EXTREME_DEADLINE_S = 4.0
SUPERVISION_S = 0.5
TOLERANCE_S = 3.0  # scheduling on a loaded 2-core machine, on top of one supervision interval
C_INTERVAL_S = 2  # partner C's device: heartbeat interval; offline after 3 missed (LSG_MISSED_HEARTBEATS_OFFLINE)
C_SILENCE_S = 3 * C_INTERVAL_S + 4.0
RAISED = "lv.lsg.alert.raised.v1"
ESCALATED = "lv.lsg.alert.escalated.v1"
STATUS = "lv.lsg.device.status_changed.v1"


@dataclass
class Partner:
    partner_id: str
    secret: str
    device_id: str
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: dict[str, str] = field(default_factory=dict)  # CAP identifier -> alert id (202; "" if unknown)
    retried: int = 0  # requests repeated after a transport error
    duplicates: int = 0  # 200 duplicate
    bad_429: list[str] = field(default_factory=list)  # a 429 without problem+json or Retry-After
    errors: list[str] = field(default_factory=list)  # transport errors and unexpected statuses
    latencies: list[float] = field(default_factory=list)
    first: float = 0.0
    last: float = 0.0

    async def send(
        self, client: httpx.AsyncClient | RawHttp, identifier: str, body: bytes | None = None, **cap: Any
    ) -> int:
        """One alert; a request that fails in transit (a keep-alive connection the server closed under the
        client) is repeated as a partner would, same document: the service answers a repeat 200 duplicate."""
        body = body or cap_json(identifier=identifier, device_id=self.device_id, status="Actual", **cap)
        headers = signed_headers(self.secret, body)
        started = time.monotonic()
        self.first = self.first or started
        self.sent += 1
        for attempt in range(4):
            try:
                r = await client.post(f"/v1/partners/{self.partner_id}/alerts", content=body, headers=headers)
                break
            except (httpx.TransportError, OSError, asyncio.IncompleteReadError) as exc:
                self.retried += 1
                if attempt == 3:
                    self.errors.append(f"{identifier}: {type(exc).__name__}")
                    return 0
                await asyncio.sleep(0.2)
        self.last = time.monotonic()
        self.latencies.append(self.last - started)
        self.statuses[r.status_code] += 1
        if r.status_code == 202:
            self.accepted[identifier] = r.json()["alert_id"]
        elif r.status_code == 200 and r.json()["outcome"] == "duplicate":
            if attempt == 0:
                self.duplicates += 1  # a repeat the partner chose to send
            else:
                self.accepted.setdefault(identifier, "")  # the first attempt went through, its answer was lost
        elif r.status_code == 429:
            if (
                not r.headers.get("content-type", "").startswith("application/problem+json")
                or not r.headers.get("retry-after", "").isdigit()
            ):
                self.bad_429.append(f"{r.headers} {r.text[:200]}")
        else:
            self.errors.append(f"{identifier}: {r.status_code} {r.text[:300]}")
        return r.status_code

    async def heartbeat(self, client: httpx.AsyncClient) -> int:
        body = heartbeat_json(self.device_id, self.partner_id)
        r = await client.post(
            f"/v1/partners/{self.partner_id}/heartbeats", content=body, headers=signed_headers(self.secret, body)
        )
        return r.status_code


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3) if ordered else float("nan")


@pytest.mark.timeout(900)
async def test_flood_and_partner_outage(private: PrivateInfra, tmp_path: Path) -> None:
    started = time.monotonic()
    deadlines = {"Extreme": EXTREME_DEADLINE_S, "Severe": 3600, "Moderate": 3600, "Unknown": 3600}
    alerts, _ = await start_service(
        "alerts",
        private,
        tmp_path,
        LSG_API_TOKENS=alerts_kit.TOKENS,
        LSG_ALERTS_SECRETS_KEY=Fernet.generate_key().decode(),
        LSG_PARTNER_GROUP_ID=unique("alerts-partner-input"),
        LSG_PARTNER_RATE_PER_S=str(FLOOD.rate_per_s),
        LSG_PARTNER_RATE_BURST=str(FLOOD.burst),
        LSG_ACK_DEADLINES_S=json.dumps(deadlines),
        LSG_SUPERVISION_INTERVAL_S=str(SUPERVISION_S),
        LSG_MISSED_HEARTBEATS_OFFLINE="3",
        LSG_DB_POOL_MAX="20",
    )
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=alerts.url, timeout=30, limits=limits) as client:

        async def partner(name: str, interval: int = 300) -> Partner:
            pid, secret = await alerts_kit.create_partner(client, unique(f"faults-{name}"))
            return Partner(pid, secret, await alerts_kit.install_device(client, pid, interval=interval))

        a, b = await partner("a"), await partner("b")
        async with collect(private.kafka_bootstrap, topics.ALERTS) as seen:
            # C's device is supervised from its installation on: installed (and heard from) only now
            c = await partner("c", C_INTERVAL_S)
            assert await c.heartbeat(client) == 202
            t0 = time.monotonic() + 0.5
            flood_done = asyncio.Event()
            next_index = iter(range(FLOOD.alerts))

            async def flood_worker() -> None:
                """Open loop: request i is due at t0 + i / offered rate, whatever earlier ones answered."""
                conn = RawHttp("127.0.0.1", alerts.port)
                try:
                    for i in next_index:
                        due = t0 + i * FLOOD.seconds / FLOOD.alerts
                        if (wait := due - time.monotonic()) > 0:
                            await asyncio.sleep(wait)
                        await a.send(conn, f"flood-{i}", severity="Minor")
                finally:
                    await conn.close()

            async def trickle() -> list[str]:
                """B: two Minor alerts a second and an Extreme one every few seconds, never acknowledged."""
                extremes: list[str] = []
                i = 0
                next_extreme = t0 + 1.0
                while not flood_done.is_set():
                    if time.monotonic() >= next_extreme:
                        ident = f"trickle-extreme-{i}"
                        assert await b.send(client, ident, severity="Extreme") == 202, b.errors[-3:]
                        extremes.append(ident)
                        next_extreme += FLOOD.extreme_every_s
                    else:
                        await b.send(client, f"trickle-{i}", severity="Minor")
                    i += 1
                    await asyncio.sleep(0.5)
                return extremes

            async def outage() -> dict[str, Any]:
                """C: heartbeats and a few alerts, then silence, then a burst (its old alerts again, new ones)."""
                before = []
                for i in range(5):
                    ident = f"c-before-{i}"
                    body = cap_json(identifier=ident, device_id=c.device_id, status="Actual", severity="Minor")
                    assert await c.send(client, ident, body=body) == 202, c.errors[-3:]
                    before.append(body)
                    assert await c.heartbeat(client) == 202
                    await asyncio.sleep(0.3)
                silent_from, silent_wall = time.monotonic(), datetime.now(UTC)
                await asyncio.sleep(C_SILENCE_S)
                back_at, back_wall = time.monotonic(), datetime.now(UTC)
                burst = [c.heartbeat(client)]
                burst += [c.send(client, f"c-before-{i}", body=body) for i, body in enumerate(before)]
                burst += [c.send(client, f"c-after-{i}", severity="Minor") for i in range(20)]
                codes = await asyncio.gather(*burst)
                return {
                    "silent_s": round(back_at - silent_from, 1),
                    "silent_from": silent_wall,
                    "back": back_wall,
                    "codes": Counter(codes[1:]),
                    "hb": codes[0],
                }

            trickle_task = asyncio.create_task(trickle())
            outage_task = asyncio.create_task(outage())
            await asyncio.gather(*(flood_worker() for _ in range(48)))
            flood_s = a.last - a.first
            flood_ended = datetime.now(UTC)
            flood_done.set()
            extremes = await trickle_task
            c_outcome = await outage_task

            accepted = {(p.partner_id, ident): aid for p in (a, b, c) for ident, aid in p.accepted.items()}
            ours = {a.partner_id, b.partner_id, c.partner_id}

            def raised(col: Any) -> list[Any]:
                return [e for e in col.events(RAISED) if e.data.partner_id in ours and e.data.kind in (None, "cap")]

            await seen.wait_for(
                lambda col: {(e.data.partner_id, e.data.identifier) for e in raised(col)} >= set(accepted),
                180,
                "every accepted alert raised",
            )
            extreme_ids = [e.data.alert_id for e in raised(seen) if e.data.identifier in set(extremes)]
            await seen.wait_for(
                lambda col: {e.data.alert_id for e in col.events(ESCALATED)} >= set(extreme_ids),
                EXTREME_DEADLINE_S + SUPERVISION_S + TOLERANCE_S + 30,
                "every Extreme alert escalated",
            )
            await asyncio.sleep(3)  # anything published twice would be here by now
            events = raised(seen)
            escalations = [e for e in seen.events(ESCALATED) if e.data.alert_id in set(extreme_ids)]
            status_events = [e for e in seen.events(STATUS) if e.data.device_id == c.device_id]
            statuses = [e.data for e in status_events]
            offline_alerts = [
                e for e in seen.events(RAISED) if e.data.device_id == c.device_id and e.data.kind == "device_offline"
            ]

    # ---- A: limited past its bucket, every refusal a proper problem with Retry-After --------------------------
    assert a.errors == [], a.errors[:5]
    assert b.errors == [], b.errors[:5]
    assert c.errors == [], c.errors[:5]
    assert a.sent == FLOOD.alerts
    assert set(a.statuses) <= {202, 429}, a.statuses
    assert a.statuses[429] > 0
    assert a.bad_429 == [], a.bad_429[:3]
    ceiling = FLOOD.burst + FLOOD.rate_per_s * flood_s + 2
    floor = FLOOD.burst + 0.5 * FLOOD.rate_per_s * flood_s
    assert floor <= len(a.accepted) <= ceiling, (len(a.accepted), floor, ceiling, flood_s)
    # ---- B: unaffected ------------------------------------------------------------------------------------
    assert b.statuses[429] == 0
    assert set(b.statuses) == {202}, b.statuses
    assert len(b.accepted) == b.sent
    assert len(extreme_ids) == len(extremes) >= 2
    # ---- C: silent, back with a burst: its repeats change nothing, its new alerts are raised once ----------
    assert c_outcome["hb"] == 202
    assert c_outcome["codes"] == Counter({200: 5, 202: 20}), c_outcome
    assert c.duplicates == 5
    # (after the test's last heartbeat C falls silent for good: only what happened before its return counts)
    silent_from, back = c_outcome["silent_from"], c_outcome["back"]
    story = "\n".join(f"{d.changed_at.time()} {d.previous_status} -> {d.status} ({d.reason})" for d in statuses)
    offline = [d for d in statuses if d.status == "offline" and d.changed_at < back]
    assert len(offline) == 1, f"C's device offline {len(offline)} times before it came back:\n{story}"
    offline_after_s = (offline[0].changed_at - silent_from).total_seconds()
    assert offline_after_s >= 3 * C_INTERVAL_S - 1, f"offline while it was still sending heartbeats:\n{story}"
    after = [d for d in statuses if d.changed_at > offline[0].changed_at]
    assert after, story
    assert after[0].status == "online", story
    assert after[0].changed_at >= back, story
    offline_alerts = [e for e in offline_alerts if e.data.received_at < back]
    assert len(offline_alerts) == 1, offline_alerts
    # ---- every accepted alert raised exactly once ----------------------------------------------------------
    by_alert = Counter((e.data.partner_id, e.data.identifier) for e in events)
    by_alert_id = Counter(e.data.alert_id for e in events)
    by_cloud_id = Counter(e.id for e in events)
    missing = set(accepted) - set(by_alert)
    extra = set(by_alert) - set(accepted)
    duplicates = sum(n - 1 for counts in (by_alert, by_alert_id, by_cloud_id) for n in counts.values())
    wrong_id = [
        e.data.identifier
        for e in events
        if accepted.get((e.data.partner_id, e.data.identifier)) not in ("", e.data.alert_id)
    ]
    assert missing == set(), f"{len(missing)} accepted alerts never raised"
    assert extra == set(), f"{len(extra)} alerts raised that were never accepted"
    assert wrong_id == [], "alert.raised carries another alert id than the 202 answered"
    assert duplicates == 0
    # ---- escalation timers on time during the flood --------------------------------------------------------
    deadline_of = {e.data.alert_id: e.data.ack_deadline for e in events if e.data.alert_id in set(extreme_ids)}
    assert Counter(e.data.alert_id for e in escalations if e.data.escalation_count == 1) == Counter(extreme_ids)
    delays = []
    for e in escalations:
        if e.data.escalation_count == 1:
            due: datetime = deadline_of[e.data.alert_id]
            delays.append((e.data.escalated_at - due).total_seconds())
    assert min(delays) >= 0, delays
    assert max(delays) <= SUPERVISION_S + TOLERANCE_S, delays
    during_flood = sum(1 for aid in extreme_ids if deadline_of[aid] < flood_ended)
    assert during_flood >= 1, "no escalation deadline fell inside the flood"
    code, took = alerts.stop()
    record(
        "s8_alerts_flood",
        flood_sent=a.sent,
        flood_seconds=round(flood_s, 1),
        flood_offered_per_s=round(a.sent / flood_s, 1),
        limit=f"{FLOOD.rate_per_s}/s, burst {FLOOD.burst}",
        flood_accepted=len(a.accepted),
        flood_429=a.statuses[429],
        flood_p95_s=p95(a.latencies),
        trickle_sent=b.sent,
        trickle_accepted=len(b.accepted),
        trickle_429=b.statuses[429],
        trickle_p95_s=p95(b.latencies),
        outage={
            "silent_s": c_outcome["silent_s"],
            "repeats_answered_duplicate": c.duplicates,
            "new_after_silence": c_outcome["codes"][202],
            "offline_alerts": len(offline_alerts),
            "offline_after_silence_s": round(offline_after_s, 1),
        },
        accepted=len(accepted),
        raised=len(events),
        requests_repeated_after_transport_error=a.retried + b.retried + c.retried,
        missing=len(missing),
        duplicates=duplicates,
        extreme_alerts=len(extreme_ids),
        extreme_deadlines_during_flood=during_flood,
        escalation_deadline_s=EXTREME_DEADLINE_S,
        escalation_late_s_max=round(max(delays), 2),
        escalation_late_s_mean=round(statistics.fmean(delays), 2),
        escalation_tolerance_s=SUPERVISION_S + TOLERANCE_S,
        stop_exit=code,
        stop_s=round(took, 1),
        seconds=round(time.monotonic() - started, 1),
    )
