"""The programme year as dated steps, each a few calls on a service's public door.

Ids are derived from the seed (campaigns, submissions, participants' refs, sessions, activities, deliverables,
devices, CAP identifiers), so running a scenario again is a no-op: every door treats a known id as a repeat.
``mid-year`` is the prefix of ``full-year`` up to 30 June, so ``full-year`` after ``mid-year`` completes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lsg_demo import content as C
from lsg_demo import people
from lsg_demo.client import Api, ApiError
from lsg_demo.geography import ALL_SETTLEMENTS, Settlement, by_village, settlements
from lsg_demo.partner import cap_alert
from lsg_events import topics
from lsg_events.partner import cap_time, heartbeat, kafka_headers, signed_headers

log = logging.getLogger("lsg_demo")
SCENARIOS = ("full-year", "mid-year")


@dataclass
class Step:
    day: date
    label: str
    run: Callable[[], Awaitable[None]]
    weight: int = 1


@dataclass
class Device:
    device_id: str
    kind: str
    settlement: Settlement
    install_day: date
    partner_id: str


@dataclass
class State:
    """What the steps learn from the services while they run (secrets, ids the services chose)."""

    secrets: dict[str, str] = field(default_factory=dict)
    installed: set[str] = field(default_factory=set)
    participants: dict[str, str] = field(default_factory=dict)  # ref -> participant id
    existing_alerts: set[str] = field(default_factory=set)  # CAP identifiers already known to the service
    escalation_alert: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def bump(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _shares_to_values(rng: random.Random, shares: list[float], n: int) -> list[int]:
    """n Likert answers with exactly the given shares (rounded), in random order: reproducible figures."""
    counts = [round(s * n) for s in shares]
    counts[3] += n - sum(counts)
    values = [v + 1 for v, c in enumerate(counts) for _ in range(c)]
    rng.shuffle(values)
    return values


def _age(rng: random.Random) -> int:
    return rng.choices(
        [rng.randint(18, 24), rng.randint(25, 44), rng.randint(45, 64), rng.randint(65, 88)], weights=[8, 27, 38, 27]
    )[0]


class Programme:
    """Builds the steps of a scenario for one seed; ``run`` executes them against the services."""

    def __init__(self, api: Api, *, scenario: str, seed: int, kafka: Any | None = None) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}")
        self.api = api
        self.scenario = scenario
        self.seed = seed
        self.kafka = kafka  # an AIOKafkaProducer for the partner topic, or None (heartbeats over HTTP then)
        self.prefix = f"lsg{seed}"
        self.state = State()
        self.devices = self._devices()
        self.cutoff = C.MID_YEAR if scenario == "mid-year" else date(2025, 12, 31)

    # ---- identities ---------------------------------------------------------------------------------
    def rng(self, *parts: object) -> random.Random:
        return random.Random(f"{self.seed}:" + ":".join(str(p) for p in parts))

    def _devices(self) -> list[Device]:
        rng = self.rng("devices")
        out: list[Device] = []
        for country, count in C.DEVICES_PER_COUNTRY.items():
            places = settlements(country)
            for i in range(count):
                place = places[i % len(places)]
                kind = C.DEVICE_KINDS[0] if i < len(places) else rng.choice(C.DEVICE_KINDS[1:])
                device_id = f"{country}-{C.KIND_CODE[kind]}-{place.code}"
                out.append(Device(device_id, kind, place, date.min, C.VENDOR[country]))
        rng.shuffle(out)
        out.sort(key=lambda d: d.device_id[:2])  # interleave below
        lv = [d for d in out if d.settlement.country == "LV"]
        ru = [d for d in out if d.settlement.country == "RU"]
        mixed = [d for pair in zip(lv, ru, strict=False) for d in pair] + lv[len(ru) :] + ru[len(lv) :]
        for device, day in zip(mixed, C.INSTALL_DATES, strict=True):
            device.install_day = day
        return mixed

    # ---- the plan -----------------------------------------------------------------------------------
    def steps(self) -> list[Step]:
        steps: list[Step] = [Step(C.YEAR_START, "partners and devices registered", self.setup_alerts, 3)]
        for d in C.DELIVERABLES:
            steps.append(Step(d[4], f"deliverable {d[1]}", self._deliverable_step(d)))
        for wave, country, start, end in C.SURVEY_WAVES:
            steps += self._survey_steps(wave, country, start, end)
        for meeting in C.MEETINGS:
            steps.append(
                Step(meeting["held_on"], f"{meeting['kind']} {meeting['key']}", self._meeting_step(meeting), 2)
            )
        steps += self._training_steps()
        for activity in C.ACTIVITIES:
            steps.append(Step(activity["ends_on"], f"{activity['kind']} held", self._activity_step(activity), 3))
        for device in self.devices:
            steps.append(Step(device.install_day, f"device {device.device_id} installed", self._install_step(device)))
        month = date(2025, 2, 1)
        while month <= date(2025, 12, 1):
            steps.append(Step(month, f"heartbeats {month:%Y-%m}", self._heartbeat_step(month)))
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        steps.append(Step(C.LOW_BATTERY_DAY, "low battery reported", self.low_battery))
        steps += self._money_steps()
        for alert in C.ALERTS:
            steps.append(Step(alert["day"], f"alert {alert['key']}", self._alert_step(alert), 2))
        steps = [s for s in steps if s.day <= self.cutoff]
        steps.sort(key=lambda s: s.day)  # stable: same-day steps keep their order
        return steps

    def final_marker(self) -> str:
        """The id of the last deliverable this scenario records: present means the scenario ran to the end."""
        last = [d for d in C.DELIVERABLES if d[4] <= self.cutoff][-1]
        return f"{self.prefix}-{last[0]}"

    # ---- money and period reports (reporting, issue 27) ---------------------------------------------
    def _money_steps(self) -> list[Step]:
        steps = [Step(C.YEAR_START, "budget approved", self.budget)]
        for month in range(1, 13):
            entries = [e for e in C.EXPENDITURE if e[1] == month]
            steps.append(
                Step(date(2025, month, 28), f"expenditure {month:02d} declared and verified", self._spend(entries))
            )
        for new_key, old_key, day, amount in C.EXPENDITURE_CORRECTIONS:
            steps.append(Step(day, f"expenditure {old_key} corrected", self._correct(new_key, old_key, amount)))
        for period, day in C.REPORT_APPROVALS:
            steps.append(Step(day, f"period report {period} approved", self._report(period), 2))
        return steps

    async def budget(self) -> None:
        response = await self.api.request("reporting", "GET", "/v1/budget", accept=(404,))
        if response.status_code == 200:
            return  # a repeat: the budget is in force already
        lines = [{"partner": p, "category": c, "work_package": w, "amount": a} for p, c, w, a in C.BUDGET_LINES]
        await self.api.post(
            "reporting", "/v1/budget/versions", {"reason": "Grant contract", "lines": lines}, role="admin"
        )
        self.state.bump("budget versions")

    def _entry(self, key: str, amount: str | None = None) -> dict[str, Any]:
        _, month, partner, category, wp, value, currency, vat, _, (lv, ru, en) = next(
            e for e in C.EXPENDITURE if e[0] == key
        )
        return {
            "entry_id": f"{self.prefix}-{key}",
            "partner": partner,
            "category": category,
            "work_package": wp,
            "spent_on": date(2025, month, 28).isoformat(),
            "amount": amount or value,
            "currency": currency,
            "rate": C.RUB_RATE if currency == "RUB" else "1",
            "vat": vat,
            "invoice_ref": f"{partner}-{key}",
            "description": C.t(lv, ru, en),
            "evidence_ref": f"dms://{partner.lower()}/2025/{key}.pdf",
        }

    async def _verify(self, entry: dict[str, Any], ineligible: str) -> None:
        declared = float(entry["amount_eur"])
        eligible = f"{declared - float(ineligible):.2f}"
        body = {"eligible_eur": eligible, "ineligible_eur": ineligible}
        if float(ineligible):
            body["note"] = "VAT recoverable: not eligible"
        # 409: its period is approved already (a repeat of the scenario)
        await self.api.post(
            "reporting", f"/v1/expenditure/{entry['entry_id']}/verification", body, role="admin", accept=(409,)
        )

    def _spend(self, entries: list[Any]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            for e in entries:
                response = await self.api.post("reporting", "/v1/expenditure", self._entry(e[0]), accept=(409,))
                if response.status_code == 409:
                    continue  # its period is under review or locked (a repeat after the approval)
                await self._verify(response.json(), e[8])
                self.state.bump("expenditure entries")

        return run

    def _correct(self, new_key: str, old_key: str, amount: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            body = {**self._entry(old_key, amount), "entry_id": f"{self.prefix}-{new_key}"}
            old = f"{self.prefix}-{old_key}"
            response = await self.api.post("reporting", f"/v1/expenditure/{old}/corrections", body, accept=(409,))
            if response.status_code != 409:
                await self._verify(response.json(), "0.00")
                self.state.bump("expenditure corrections")

        return run

    def _report(self, period: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            base = f"/v1/periods/{period}/report"
            await self.api.request(
                "reporting", "PUT", f"{base}/narrative", json={"work_packages": C.NARRATIVES[period]}, accept=(409,)
            )
            await self.api.post("reporting", f"{base}/submit", accept=(409,))
            await self.api.post("reporting", f"{base}/verification", role="admin", accept=(409,))
            await self.api.post("reporting", f"{base}/approve", role="admin", accept=(409,))
            states = {p["period_id"]: p["status"] for p in (await self.api.get("reporting", "/v1/periods"))["items"]}
            if states.get(period) != "approved":
                raise ApiError("POST", f"reporting {base}/approve", 409, f"{period} is {states.get(period)}")
            self.state.bump("period reports approved")

        return run

    # ---- deliverables -------------------------------------------------------------------------------
    def _deliverable_step(self, d: tuple[str, str, int, str, date, str | None]) -> Callable[[], Awaitable[None]]:
        suffix, kind, quantity, language, day, evidence = d

        async def run() -> None:
            body: dict[str, Any] = {
                "deliverable_id": f"{self.prefix}-{suffix}",
                "kind": kind,
                "quantity": quantity,
                "language": language,
                "recorded_on": day.isoformat(),
            }
            if evidence:
                body["evidence_url"] = evidence
            await self.api.post("reporting", "/v1/deliverables", body, accept=(409,))
            self.state.bump("deliverables")

        return run

    # ---- surveys ------------------------------------------------------------------------------------
    def _survey_steps(self, wave: int, country: str, start: date, end: date) -> list[Step]:
        cid = f"{self.prefix}-survey-w{wave}-{country.lower()}"
        places = settlements(country)
        rng = self.rng("survey", wave)
        n = 250 + rng.randint(6, 30)
        rows = self._kobo_rows(rng, wave, country, start, end, n)
        chunks = [rows[i : i + 100] for i in range(0, len(rows), 100)]
        status: dict[str, str] = {}

        async def create_and_open() -> None:
            body = {
                "campaign_id": cid,
                "kind": "opinion_survey",
                "wave": wave,
                "title": C.t(
                    f"Iedzīvotāju aptauja, {wave}. kārta",
                    f"Опрос жителей, волна {wave}",
                    f"Residents' survey, wave {wave}",
                ),
                "place": {"country": country},
                "planned_start": start.isoformat(),
                "planned_end": end.isoformat(),
                "target_size": 250,
                "questions": C.QUESTIONS,
                "settlements": [p.place() for p in places],
            }
            await self.api.post("surveys", "/v1/campaigns", body, role="admin", accept=(409,))
            current = await self.api.get("surveys", f"/v1/campaigns/{cid}", role=None)
            status["s"] = current["status"]
            if current["status"] == "draft":
                await self.api.post("surveys", f"/v1/campaigns/{cid}/open", role="admin")
                status["s"] = "open"

        def import_chunk(chunk: list[dict[str, Any]]) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                if status.get("s") != "open":
                    return  # closed in an earlier run: its responses are in
                r = await self.api.post(
                    "surveys", f"/v1/campaigns/{cid}/imports/kobo", chunk, params={"partial": "true"}
                )
                result = r.json()
                self.state.bump("survey responses", result.get("recorded", 0))

            return run

        async def close() -> None:
            if status.get("s") == "open":
                await self.api.post("surveys", f"/v1/campaigns/{cid}/close", role="admin")
            self.state.bump("surveys closed")

        out = [Step(start, f"survey wave {wave} ({country}) opened", create_and_open)]
        span = max((end - start).days, 1)
        for i, chunk in enumerate(chunks):
            day = start + timedelta(days=span * (i + 1) // (len(chunks) + 1))
            out.append(Step(day, f"survey wave {wave}: Kobo import {i + 1}/{len(chunks)}", import_chunk(chunk), 3))
        out.append(Step(end, f"survey wave {wave} closed", close))
        return out

    def _kobo_rows(
        self, rng: random.Random, wave: int, country: str, start: date, end: date, n: int
    ) -> list[dict[str, Any]]:
        places = settlements(country)
        dialogue = _shares_to_values(rng, C.DIALOGUE_SHARES[wave - 1], n)
        involvement = _shares_to_values(rng, C.INVOLVEMENT_SHARES[wave - 1], n)
        form_uuid = _uuid(rng).replace("-", "")
        xform = f"aLSG{wave}{country}{rng.randrange(10**6):06d}"
        gender_word = {
            "LV": {"female": "sieviete", "male": "vīrietis", "undisclosed": ""},
            "RU": {"female": "женский", "male": "мужской", "undisclosed": ""},
        }[country]
        rows: list[dict[str, Any]] = []
        span_s = int((end - start).days * 86400)
        for i in range(n):
            place = rng.choice(places)
            g = people.gender(rng)
            submitted = datetime.combine(start, datetime.min.time(), UTC) + timedelta(seconds=rng.randrange(span_s))
            began = submitted - timedelta(minutes=rng.randint(6, 25))
            instance = _uuid(rng)
            priorities = rng.sample(["roads", "water", "internet", "transport", "health", "safety"], rng.randint(1, 3))
            row: dict[str, Any] = {
                "_id": 40_000 * wave + i + 1,
                "_uuid": instance,
                "formhub/uuid": form_uuid,
                "__version__": f"vLSG2025w{wave}",
                "_xform_id_string": xform,
                "_submission_time": submitted.replace(tzinfo=None).isoformat(timespec="seconds"),
                "_submitted_by": f"enumerator_{country.lower()}_{rng.randint(1, 6):02d}",
                "_validation_status": {"uid": "validation_status_approved", "label": "Approved"},
                "start": began.isoformat(timespec="seconds"),
                "end": submitted.isoformat(timespec="seconds"),
                "deviceid": f"collect:{rng.getrandbits(48):012x}",
                "meta/instanceID": f"uuid:{instance}",
                "grp_resp/settlement_code": place.code,
                "grp_resp/gender": gender_word[g],
                "grp_resp/age": str(_age(rng)),
                "grp_sat/q_dialogue": str(dialogue[i]),
                "grp_sat/q_involvement": str(involvement[i]),
                "grp_sat/q_channel": rng.choices(
                    ["elder", "website", "social", "board", "meeting"], weights=[35, 15, 25, 15, 10]
                )[0],
                "grp_sat/q_priorities": " ".join(priorities),
            }
            if rng.random() < 0.25:
                row["grp_sat/q_comment"] = rng.choice(C.COMMENTS[country])
            rows.append(row)
        # Three interviews the supervisor did not approve (skipped by the import) and two edits made in Kobo
        # after submission (the same response, corrected).
        for j in range(3):
            extra = dict(rows[j])
            extra["_id"] = 40_000 * wave + n + j + 1
            extra["_uuid"] = _uuid(rng)
            extra["meta/instanceID"] = f"uuid:{extra['_uuid']}"
            extra["_validation_status"] = {"uid": "validation_status_not_approved", "label": "Not Approved"}
            rows.append(extra)
        for j in (10, 20):
            edit = dict(rows[j])
            edit["meta/deprecatedID"] = rows[j]["meta/instanceID"]
            edit["meta/rootUuid"] = rows[j]["meta/instanceID"]
            edit["_uuid"] = _uuid(rng)
            edit["meta/instanceID"] = f"uuid:{edit['_uuid']}"
            edit["grp_sat/q_priorities"] = "roads safety"
            rows.append(edit)
        return rows

    # ---- meetings -----------------------------------------------------------------------------------
    def _meeting_step(self, m: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        cid = f"{self.prefix}-{m['key']}"
        where = by_village(m["village"], m["country"])

        async def run() -> None:
            total = sum(c for _, _, c in m["participants"])
            body = {
                "campaign_id": cid,
                "kind": m["kind"],
                "title": m["title"],
                "place": where.municipality_place(),
                "planned_start": m["held_on"].isoformat(),
                "planned_end": m["held_on"].isoformat(),
                "target_size": total,
            }
            await self.api.post("surveys", "/v1/campaigns", body, role="admin", accept=(409,))
            current = await self.api.get("surveys", f"/v1/campaigns/{cid}", role=None)
            if current["status"] == "closed":
                return
            if current["status"] == "draft":
                await self.api.post("surveys", f"/v1/campaigns/{cid}/open", role="admin")
            represented = [s.place() for s in ALL_SETTLEMENTS if s.municipality == where.municipality]
            gathering = {
                "gathering_id": f"{cid}-meeting",
                "held_on": m["held_on"].isoformat(),
                "place": where.place(),
                "participants": [
                    {"country": m["country"] if m["kind"] != "forum" else None, "role": r, "gender": g, "count": c}
                    for r, g, c in m["participants"]
                ],
                "settlements_represented": represented,
                "problems": [{"text": x, "language": lang} for x, lang in m["problems"]],
                "initiatives": [{"text": x, "language": lang} for x, lang in m["initiatives"]],
            }
            if m["kind"] == "forum":  # the forum gathers both countries: split the counts by country
                gathering["participants"] = []
                for r, g, c in m["participants"]:
                    lv = (c + 1) // 2
                    gathering["participants"] += [
                        {"country": "LV", "role": r, "gender": g, "count": lv},
                        {"country": "RU", "role": r, "gender": g, "count": c - lv},
                    ]
            await self.api.post("surveys", f"/v1/campaigns/{cid}/gatherings", gathering)
            await self.api.post("surveys", f"/v1/campaigns/{cid}/close", role="admin")
            self.state.bump(m["kind"].replace("_", " ") + "s")

        return run

    # ---- training -----------------------------------------------------------------------------------
    def _trainees(self) -> list[dict[str, Any]]:
        rng = self.rng("trainees")
        out = []
        for country in ("LV", "RU"):
            places = settlements(country)
            for i in range(C.TRAINEES_PER_COUNTRY):
                g = rng.choice(["female", "male"])
                role = (
                    ("elder" if country == "RU" else rng.choice(["municipal_representative", "initiative_group"]))
                    if i >= 3
                    else "municipal_head"
                    if country == "LV"
                    else "municipal_representative"
                )
                if country == "LV" and i >= 3 and rng.random() < 0.3:
                    role = "elder"
                place = places[i % len(places)]
                out.append(
                    {
                        "ref": f"{self.prefix}-{country}-{i + 1:02d}",
                        "full_name": people.full_name(rng, country, g),
                        "role": role,
                        "country": country,
                        "gender": g,
                        "place": place.place(),
                        "phone": people.phone(rng, country),
                        "organisation": place.municipality.lv if country == "LV" else place.territory.ru,
                    }
                )
        return out

    def _extra_people(self, tag: str, country: str, count: int, role: str) -> list[dict[str, Any]]:
        rng = self.rng("people", tag)
        out = []
        for i in range(count):
            g = rng.choice(["female", "male"])
            place = rng.choice(settlements(country))
            out.append(
                {
                    "ref": f"{self.prefix}-{tag}-{i + 1:02d}",
                    "full_name": people.full_name(rng, country, g),
                    "role": role,
                    "country": country,
                    "gender": g,
                    "place": place.place(),
                    "email": f"{tag}{i + 1}@{'pasvaldiba.lv' if country == 'LV' else 'adm-lenobl.ru'}",
                }
            )
        return out

    async def _register(self, person: dict[str, Any], programme_id: str | None = None) -> str:
        params = {"programme_id": programme_id} if programme_id else None
        r = await self.api.post("training", "/v1/participants", person, params=params)
        pid = str(r.json()["id"])
        self.state.participants[person["ref"]] = pid
        return pid

    def _training_steps(self) -> list[Step]:
        pid = f"{self.prefix}-training"
        trainees = self._trainees()
        # Absentees: three participants each miss one module; the other 35 complete the programme.
        absent = {(trainees[-1]["ref"], "M3"), (trainees[18]["ref"], "M2"), (trainees[-7]["ref"], "M4")}
        day1, day2 = C.TRAINING_DAYS
        venue = by_village("Istra", "LV")

        async def setup() -> None:
            body = {
                "id": pid,
                "code": f"LSG-2025-{self.seed}",
                "title": C.t(
                    "Pašvaldību un vecāko mācību programma",
                    "Учебная программа для МСУ и старост",
                    "Training programme for local governments and elders",
                ),
                "starts_on": day1.isoformat(),
                "ends_on": day2.isoformat(),
                "modules": [
                    {"code": c, "title": title, "hours": h, "position": i} for i, (c, title, h) in enumerate(C.MODULES)
                ],
            }
            await self.api.post("training", "/v1/programmes", body, role="admin")
            for code, _, _ in C.MODULES:
                held = day1 if code in ("M1", "M2") else day2
                await self.api.post(
                    "training",
                    f"/v1/programmes/{pid}/sessions",
                    {
                        "id": f"{pid}-{code}",
                        "module_code": code,
                        "held_on": held.isoformat(),
                        "place": venue.place(),
                        "language": "ru",
                        "trainers": C.TRAINERS[:2] if code != "M4" else C.TRAINERS[1:],
                    },
                )

        async def enrol() -> None:
            for person in trainees:
                await self._register(person, pid)
            self.state.bump("trainees", len(trainees))

        def attendance(code: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                for person in trainees:
                    if (person["ref"], code) in absent:
                        continue
                    await self.api.post("training", f"/v1/sessions/{pid}-{code}/attendance", {"ref": person["ref"]})
                await self.api.post("training", f"/v1/sessions/{pid}-{code}/close")
                self.state.bump("sessions held")

            return run

        out = [
            Step(day1 - timedelta(days=30), "training programme set up", setup, 2),
            Step(day1 - timedelta(days=10), "38 participants enrolled", enrol, 4),
        ]
        for code, _, _ in C.MODULES:
            out.append(Step(day1 if code in ("M1", "M2") else day2, f"training {code}: sign-in", attendance(code), 4))
        return out

    def _activity_step(self, a: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        aid = f"{self.prefix}-{a['key']}"
        where = by_village(a["village"], a["country"])
        trainees = self._trainees()

        async def run() -> None:
            if a["kind"] == "study_tour":  # 20 from Russia: the 19 trained elders and the district's coordinator
                people_ = [p for p in trainees if p["country"] == "RU"] + self._extra_people(
                    "tour", "RU", 1, "municipal_representative"
                )
            elif a["kind"] == "conference":  # the tour group and 26 Latvian colleagues
                people_ = (
                    trainees
                    + self._extra_people("tour", "RU", 1, "municipal_representative")
                    + self._extra_people("conf", "LV", 7, "municipal_representative")
                )
            else:  # staff exchange: four from each association
                people_ = self._extra_people("lps", "LV", 4, "staff") + self._extra_people("lenobl", "RU", 4, "staff")
            await self.api.post(
                "training",
                "/v1/activities",
                {
                    "id": aid,
                    "kind": a["kind"],
                    "title": a["title"],
                    "starts_on": a["starts_on"].isoformat(),
                    "ends_on": a["ends_on"].isoformat(),
                    "place": where.municipality_place(),
                },
            )
            current = await self.api.get("training", f"/v1/activities/{aid}")
            if current.get("held"):
                return
            ids = [self.state.participants.get(p["ref"]) or await self._register(p) for p in people_]
            await self.api.post(
                "training", f"/v1/activities/{aid}/participants", {"participant_ids": ids}, accept=(409,)
            )
            await self.api.post("training", f"/v1/activities/{aid}/held")
            self.state.bump("activities held")

        return run

    # ---- alerts: partners, devices, heartbeats, CAP -------------------------------------------------
    async def ensure_partner(self, p: dict[str, Any]) -> str:
        """The partner's signing secret: from its creation, or a rotation when it exists already."""
        r = await self.api.post(
            "alerts",
            "/v1/partners",
            {"partner_id": p["partner_id"], "label": p["label"], "kind": p["kind"]},
            role="admin",
            accept=(409,),
        )
        if r.status_code == 409:
            r = await self.api.post("alerts", f"/v1/partners/{p['partner_id']}/secrets", role="admin")
            secret = r.json()["secret"]
        else:
            secret = r.json()["new_secret"]["secret"]
        self.state.secrets[p["partner_id"]] = secret
        return secret

    async def setup_alerts(self) -> None:
        for p in C.PARTNERS:
            await self.ensure_partner(p)
        rng = self.rng("device-coords")
        for d in self.devices:
            s = d.settlement
            lat, lon = (
                (56.3 + rng.random() * 1.2, 26.5 + rng.random() * 1.6)
                if s.country == "LV"
                else (59.4 + rng.random() * 1.4, 29.0 + rng.random() * 4.0)
            )
            await self.api.post(
                "alerts",
                "/v1/devices",
                {
                    "device_id": d.device_id,
                    "kind": d.kind,
                    "place": s.place(),
                    "partner_id": d.partner_id,
                    "label": C.t(f"{d.kind} {s.village.lv}", f"{d.kind} {s.village.ru}", f"{d.kind} {s.village.en}"),
                    "latitude": round(lat, 5),
                    "longitude": round(lon, 5),
                    "heartbeat_interval_s": C.HEARTBEAT_INTERVAL_S,
                },
                accept=(409,),
            )
        for country, dispatch in C.DISPATCH.items():
            ids = [d.device_id for d in self.devices if d.settlement.country == country]
            await self.api.request(
                "alerts", "PUT", f"/v1/partners/{dispatch}/devices", role="admin", json={"device_ids": ids}
            )
        listed = await self.api.get("alerts", "/v1/alerts", params={"drills": "include", "limit": 500})
        self.state.existing_alerts = {a["identifier"] for a in listed["items"]}
        # Only the demo's own devices: the service may hold others (a partner's quick start, another user's data);
        # the demo neither knows their partners' secrets nor speaks for them.
        own = {d.device_id for d in self.devices}
        for d in (await self.api.get("alerts", "/v1/devices"))["items"]:
            if d["status"] not in ("planned",) and d["device_id"] in own:
                self.state.installed.add(d["device_id"])

    def _install_step(self, device: Device) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if device.device_id in self.state.installed:
                return
            await self.api.post("alerts", f"/v1/devices/{device.device_id}/install", {}, accept=(409,))
            self.state.installed.add(device.device_id)
            # The installer's commissioning test: a first heartbeat at once, over the HTTP door.
            await self.send_heartbeat(device, http=True)
            self.state.bump("devices installed")

        return run

    def _device(self, device_id: str) -> Device | None:
        """The demo's own device of that id; None for one the demo did not make."""
        return next((d for d in self.devices if d.device_id == device_id), None)

    async def send_heartbeat(self, device: Device, *, http: bool = False, battery: float | None = None) -> None:
        rng = self.rng("hb", device.device_id, time.time_ns())
        body = heartbeat(
            device.device_id,
            device.partner_id,
            battery_pct=round(battery if battery is not None else 72 + rng.random() * 28, 1),
            signal_dbm=round(-95 + rng.random() * 35, 1),
        )
        secret = self.state.secrets[device.partner_id]
        if http or self.kafka is None:
            await self.api.request(
                "alerts",
                "POST",
                f"/v1/partners/{device.partner_id}/heartbeats",
                role=None,
                content=body,
                headers=signed_headers(secret, body),
            )
        else:
            await self.kafka.send(
                topics.PARTNER_INPUT,
                body,
                key=device.device_id.encode(),
                headers=kafka_headers(device.partner_id, secret, body, kind="heartbeat"),
            )
        self.state.bump("heartbeats")

    async def heartbeat_round(self) -> None:
        for device_id in sorted(self.state.installed):
            device = self._device(device_id)
            if device is not None:
                await self.send_heartbeat(device)
        if self.kafka is not None:
            await self.kafka.flush()

    def _heartbeat_step(self, month: date) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self.heartbeat_round()

        return run

    async def low_battery(self) -> None:
        device = min((d for d in self.devices if d.install_day <= C.LOW_BATTERY_DAY), key=lambda d: d.device_id)
        earlier = await self.api.get("alerts", "/v1/alerts", params={"device_id": device.device_id, "limit": 500})
        if any(a["kind"] == "low_battery" for a in earlier["items"]):
            return  # told by an earlier run
        await self.send_heartbeat(device, battery=14.0, http=True)
        alert = await self._wait_alert(device.device_id, "low_battery")
        if alert is not None:
            await self.api.post(
                "alerts",
                f"/v1/alerts/{alert['alert_id']}/acknowledge",
                {"note": "Akumulators tiks nomainīts rīt."},
                accept=(409,),
            )
        await self.send_heartbeat(device, battery=98.0, http=True)  # battery replaced: the alert resolves itself

    async def _wait_alert(self, device_id: str, kind: str, timeout: float = 20) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = await self.api.get("alerts", "/v1/alerts", params={"device_id": device_id, "status": "raised"})
            for a in listed["items"]:
                if a["kind"] == kind:
                    return a
            await asyncio.sleep(0.3)
        return None

    def _alert_device(self, country: str, day: date) -> Device:
        ready = [d for d in self.devices if d.settlement.country == country and d.install_day <= day]
        return (
            ready[len(ready) // 2 if ready else 0]
            if ready
            else next(d for d in self.devices if d.settlement.country == country)
        )

    def _alert_step(self, spec: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        identifier = f"{self.prefix}-{spec['key']}"

        async def send(doc: dict[str, Any], partner: str) -> dict[str, Any]:
            body = json.dumps(doc, ensure_ascii=False).encode()
            r = await self.api.request(
                "alerts",
                "POST",
                f"/v1/partners/{partner}/alerts",
                role=None,
                content=body,
                headers=signed_headers(self.state.secrets[partner], body, content_type="application/cap+json"),
            )
            return dict(r.json())

        async def run() -> None:
            if identifier in self.state.existing_alerts or f"{identifier}-update" in self.state.existing_alerts:
                return  # recorded by an earlier run
            device = self._alert_device(spec["country"], spec["day"])
            partner = C.DISPATCH[spec["country"]]
            sender = f"urn:lsg:{partner}"
            sent = cap_time()
            common = {
                k: spec[k]
                for k in (
                    "category",
                    "event",
                    "urgency",
                    "severity",
                    "certainty",
                    "headline",
                    "description",
                    "instruction",
                    "language",
                )
            }
            area = device.settlement.village.lv if spec["country"] == "LV" else device.settlement.village.ru
            expires = cap_time(datetime.now(UTC) + timedelta(hours=12))
            doc = cap_alert(
                identifier=identifier,
                sender=sender,
                sent=sent,
                device_id=device.device_id,
                area_desc=area,
                status=spec.get("status", "Actual"),
                expires=expires,
                **common,
            )
            result = await send(doc, partner)
            alert_id = result.get("alert_id")
            outcome = spec["outcome"]
            self.state.bump("alerts")
            if outcome == "escalate":
                self.state.escalation_alert = alert_id
                return
            if outcome == "cancel":
                await asyncio.sleep(0.2)
                cancel = cap_alert(
                    identifier=f"{identifier}-cancel",
                    sender=sender,
                    sent=cap_time(),
                    device_id=None,
                    area_desc=area,
                    msg_type="Cancel",
                    references=f"{sender},{identifier},{sent}",
                    note="Nosūtīts kļūdas pēc / sent in error",
                    **common,
                )
                await send(cancel, partner)
                return
            if alert_id:
                await self.api.post(
                    "alerts", f"/v1/alerts/{alert_id}/acknowledge", {"note": "Saņemts / Принято"}, accept=(409,)
                )
            if outcome == "ack+update" and alert_id:
                update = dict(
                    common, severity="Extreme", urgency="Immediate", headline=common["headline"] + " — evakuācija"
                )
                doc2 = cap_alert(
                    identifier=f"{identifier}-update",
                    sender=sender,
                    sent=cap_time(datetime.now(UTC) + timedelta(seconds=1)),
                    device_id=device.device_id,
                    area_desc=area,
                    msg_type="Update",
                    references=f"{sender},{identifier},{sent}",
                    expires=expires,
                    **update,
                )
                await send(doc2, partner)
            if outcome == "ack+resolve" and alert_id:
                await self.api.post(
                    "alerts", f"/v1/alerts/{alert_id}/resolve", {"note": "Atjaunots / Восстановлено"}, accept=(409,)
                )

        return run

    async def duty_operator(self, *, escalated_only_after: bool = True) -> int:
        """Acknowledge every raised alert (the escalation example only once it has escalated). Returns how many."""
        done = 0
        listed = await self.api.get(
            "alerts", "/v1/alerts", params={"status": "raised", "drills": "include", "limit": 500}
        )
        for a in listed["items"]:
            if a["identifier"].endswith("storm-0816") and escalated_only_after and not a["escalation_count"]:
                continue
            with contextlib.suppress(ApiError):
                await self.api.post(
                    "alerts", f"/v1/alerts/{a['alert_id']}/acknowledge", {"note": "Dežurants / дежурный"}, accept=(409,)
                )
                done += 1
        return done

    async def wait_escalation(self, max_wait_s: float) -> str:
        """Wait for the escalation example to escalate (when due within `max_wait_s`), then acknowledge it."""
        listed = await self.api.get("alerts", "/v1/alerts", params={"status": "raised", "limit": 500})
        target = next((a for a in listed["items"] if a["identifier"].endswith("storm-0816")), None)
        if target is None:
            return "no open escalation example"
        if not target["escalation_count"]:
            due = datetime.fromisoformat(target["next_escalation_at"] or target["ack_deadline"])
            wait = (due - datetime.now(UTC)).total_seconds() + 12
            if wait > max_wait_s:
                return f"escalation of {target['alert_id']} due at {due:%H:%M:%S} UTC (not waited for)"
            deadline = time.monotonic() + max(wait, 1) + 20
            while time.monotonic() < deadline:
                target = await self.api.get("alerts", f"/v1/alerts/{target['alert_id']}")
                if target["escalation_count"]:
                    break
                await asyncio.sleep(1)
            else:
                return "escalation did not happen in time"
        await self.api.post(
            "alerts",
            f"/v1/alerts/{target['alert_id']}/acknowledge",
            {"note": "Reģionālais dienests: saņemts ar nokavēšanos"},
            accept=(409,),
        )
        return f"alert {target['alert_id']} escalated to {target.get('escalation_level')} and was acknowledged late"
