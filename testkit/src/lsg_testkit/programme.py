"""A generated programme year: the events of every stream plus the truth they are meant to express.

Used by the reporting service's integration tests (whose oracle computes the expected figures from
`truth`, not from the events), the fault and browser suites and the benchmarks; no service ships it (it
was ``lsg_reporting.simulate``). Events come with what real streams do to a consumer: duplicates (the same
CloudEvent published twice), corrections (survey responses, a re-recorded deliverable, a re-reported focus
group), CAP updates and cancels (some cancels before the alert), late events, and a shuffled order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lsg_events import (
    ActivityHeld,
    AlertAcknowledged,
    AlertCancelled,
    AlertRaised,
    CloudEvent,
    ConsultationHeld,
    DeliverableRecorded,
    DeviceInstalled,
    DeviceStatusChanged,
    FocusGroupHeld,
    ForumHeld,
    SurveyCompleted,
    SurveyOpened,
    SurveyResponseCorrected,
    SurveyResponseRecorded,
    TrainingAttended,
    TrainingCompleted,
    TrainingSessionHeld,
)
from lsg_events.base import ParticipantCount, Role
from lsg_events.geography import AreaUnit, Place
from lsg_events.i18n import LocalizedText
from lsg_events.surveys import CampaignKind, ClosedAnswer
from lsg_events.training import ActivityKind

YEAR = 2025
Area = tuple[str | None, str | None, str | None, str | None]


def _t(text: str) -> LocalizedText:
    return LocalizedText(lv=text, ru=text, en=text)


def _unit(code: str, name: str) -> AreaUnit:
    return AreaUnit(code=code, name=_t(name))


def settlements() -> list[Place]:
    out = []
    for country, munis in (("LV", ("LV0001", "LV0002")), ("RU", ("RU4101", "RU4102"))):
        for m in munis:
            for t in (1, 2):
                for s in (1, 2):
                    out.append(
                        Place(
                            country=country,
                            municipality=_unit(m, f"M {m}"),
                            territory=_unit(f"{m}{t:02d}", f"T {m}{t:02d}"),
                            settlement=_unit(f"{m}{t:02d}{s:02d}", f"S {m}{t:02d}{s:02d}"),
                        )
                    )
    return out


def area_of(place: Place | None) -> Area:
    if place is None:
        return (None, None, None, None)
    return (
        place.country,
        place.municipality.code if place.municipality else None,
        place.territory.code if place.territory else None,
        place.settlement.code if place.settlement else None,
    )


def municipality_of(place: Place) -> Place:
    return Place(country=place.country, municipality=place.municipality)


@dataclass(frozen=True)
class Truth:
    """One intended contribution to an indicator figure."""

    code: str
    time: datetime
    area: Area
    num: float
    den: float = 0.0
    role: str | None = None
    gender: str | None = None
    wave: int | None = None
    tag: str | None = None


@dataclass
class Programme:
    events: list[CloudEvent] = field(default_factory=list)  # in publication order, duplicates included
    truth: list[Truth] = field(default_factory=list)
    devices: dict[str, list[tuple[datetime, str, Area]]] = field(default_factory=dict)
    unique_events: int = 0


def _day(rng: random.Random, start: date, days: int) -> datetime:
    return datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(days * 86400))


def generate(
    seed: int = 7,
    *,
    respondents: tuple[int, ...] = (260, 255, 251, 240),
    alerts: int = 200,
    duplicate_share: float = 0.03,
    run: str = "sim",
) -> Programme:
    rng = random.Random(seed)
    places = settlements()
    prog = Programme()
    src = {s: f"/lsg/{run}/{s}" for s in ("surveys", "training", "alerts", "reporting")}
    counter = 0

    def emit(stream: str, data: Any, at: datetime) -> CloudEvent:
        nonlocal counter
        counter += 1
        ev = CloudEvent(data=data, source=src[stream], id=f"{run}-{counter}", time=at)
        prog.events.append(ev)
        return ev

    def truth(**kw: Any) -> None:
        prog.truth.append(Truth(**kw))

    # ---- surveys: 4 waves, Likert answers, corrections ---------------------------------------------------
    genders = ["female", "male", "other", "undisclosed"]
    for wave, n in enumerate(respondents, start=1):
        month = 1 + (wave - 1) * 3
        start = date(YEAR, month, 1)
        campaign = f"{run}-survey-w{wave}"
        country = "LV" if wave % 2 else "RU"
        cplace = Place(country=country)
        emit(
            "surveys",
            SurveyOpened(
                campaign_id=campaign,
                kind=CampaignKind.OPINION_SURVEY,
                wave=wave,
                title=_t(f"Wave {wave}"),
                place=cplace,
                target_size=250,
                planned_start=start,
                planned_end=start + timedelta(days=40),
                opened_at=_day(rng, start, 1),
            ),
            _day(rng, start, 1),
        )
        for i in range(n):
            rid = f"{campaign}-r{i}"
            place = rng.choice(places)
            gender = rng.choice(genders)
            at = _day(rng, start, 40)

            def answers(r: random.Random) -> tuple[list[ClosedAnswer], int | None, int | None]:
                d = r.randint(1, 5) if r.random() > 0.1 else None
                v = r.randint(1, 5) if r.random() > 0.1 else None
                out = []
                if d is not None:
                    out.append(ClosedAnswer(question_id="q1", indicator="SD.SAT_DIALOGUE", value=d))
                if v is not None:
                    out.append(ClosedAnswer(question_id="q2", indicator="satisfaction_involvement", value=v))
                out.append(ClosedAnswer(question_id="q3", choices=["a"]))
                return out, d, v

            ans, d, v = answers(rng)
            emit(
                "surveys",
                SurveyResponseRecorded(
                    campaign_id=campaign,
                    response_id=rid,
                    respondent_key=f"k{rid}",
                    wave=wave,
                    place=place,
                    gender=gender,
                    answers=ans,
                    submitted_at=at,
                ),
                at + timedelta(minutes=5),
            )
            if rng.random() < 0.05:  # a correction: new answers, maybe another settlement
                ans, d, v = answers(rng)
                place = rng.choice(places) if rng.random() < 0.5 else place
                corrected = at + timedelta(days=2)
                emit(
                    "surveys",
                    SurveyResponseCorrected(
                        campaign_id=campaign,
                        response_id=rid,
                        respondent_key=f"k{rid}",
                        wave=wave,
                        place=place,
                        gender=gender,
                        answers=ans,
                        submitted_at=at,
                        corrected_at=corrected,
                    ),
                    corrected,
                )
            a = area_of(place)
            truth(code="SD.RESPONDENTS", time=at, area=a, num=1, gender=gender, wave=wave)
            for code, val in (("SD.SAT_DIALOGUE", d), ("SD.SAT_INVOLVEMENT", v)):
                if val is not None:
                    truth(code=f"{code}_MEAN", time=at, area=a, num=val, den=1, gender=gender, wave=wave)
                    truth(
                        code=f"{code}_TOP2", time=at, area=a, num=1 if val >= 4 else 0, den=1, gender=gender, wave=wave
                    )
        closed = datetime(YEAR, month + 1, 15, tzinfo=UTC)
        emit(
            "surveys",
            SurveyCompleted(
                campaign_id=campaign,
                kind=CampaignKind.OPINION_SURVEY,
                wave=wave,
                place=cplace,
                respondents=n,
                closed_at=closed,
            ),
            closed,
        )
        truth(code="SD.SURVEYS", time=closed, area=area_of(cplace), num=1 if n >= 250 else 0, wave=wave)

    # ---- gatherings ------------------------------------------------------------------------------------
    roles = [Role.ELDER, Role.RESIDENT, Role.INITIATIVE_GROUP, Role.MUNICIPAL_REPRESENTATIVE]

    def gathering(
        model: Any, count_code: str | None, people_code: str, campaign: str, total: int, when: date, place: Place
    ) -> None:
        cells: list[ParticipantCount] = []
        left = total
        for role in roles[:3]:
            for g in ("female", "male"):
                c = min(left, rng.randint(1, 5))
                if c:
                    cells.append(ParticipantCount(country=place.country, role=role, gender=g, count=c))
                    left -= c
        data = model(
            campaign_id=campaign, title=_t(campaign), place=place, held_on=when, participants=total, breakdown=cells
        )
        emit("surveys", data, datetime(when.year, when.month, when.day, 18, tzinfo=UTC))
        at = datetime(when.year, when.month, when.day, tzinfo=UTC)
        if count_code:
            truth(code=count_code, time=at, area=area_of(place), num=1, wave=1)
        for cell in cells:
            truth(
                code=people_code,
                time=at,
                area=area_of(place),
                num=cell.count,
                role=cell.role.value if cell.role else None,
                gender=cell.gender,
                wave=1,
            )
        if left:
            truth(code=people_code, time=at, area=area_of(place), num=left, wave=1)

    lv_m = municipality_of(places[0])
    ru_m = municipality_of(places[8])
    # The first focus group is reported twice: the second report (22 -> 24 persons) supersedes the first.
    first = FocusGroupHeld(
        campaign_id=f"{run}-fg1", title=_t("fg1"), place=lv_m, held_on=date(YEAR, 3, 10), participants=22
    )
    emit("surveys", first, datetime(YEAR, 3, 10, 17, tzinfo=UTC))
    gathering(
        FocusGroupHeld, "SD.FOCUS_GROUPS", "SD.FOCUS_GROUP_PARTICIPANTS", f"{run}-fg1", 24, date(YEAR, 3, 10), lv_m
    )
    gathering(
        FocusGroupHeld, "SD.FOCUS_GROUPS", "SD.FOCUS_GROUP_PARTICIPANTS", f"{run}-fg2", 21, date(YEAR, 5, 20), ru_m
    )
    gathering(
        ConsultationHeld, "SD.CONSULTATIONS", "SD.CONSULTATION_PARTICIPANTS", f"{run}-c1", 27, date(YEAR, 6, 3), lv_m
    )
    gathering(
        ConsultationHeld, "SD.CONSULTATIONS", "SD.CONSULTATION_PARTICIPANTS", f"{run}-c2", 26, date(YEAR, 7, 8), ru_m
    )
    gathering(ForumHeld, "SD.FORUM", "SD.FORUM_PARTICIPANTS", f"{run}-forum", 64, date(YEAR, 10, 2), lv_m)

    # ---- training ----------------------------------------------------------------------------------------
    tp = f"{run}-tp"
    modules = ["M1", "M2", "M3", "M4"]
    for i, module in enumerate(modules):
        held = date(YEAR, 4, 14 + i // 2)
        place = municipality_of(places[i])
        emit(
            "training",
            TrainingSessionHeld(
                programme_id=tp,
                session_id=f"{tp}-s{i}",
                module_code=module,
                module_title=_t(module),
                held_on=held,
                place=place,
                language="lv",
                trainers=2,
                attendees=30,
            ),
            datetime(YEAR, 4, 14 + i // 2, 18, tzinfo=UTC),
        )
        truth(
            code="ED.TRAINING_SESSIONS",
            time=datetime(held.year, held.month, held.day, tzinfo=UTC),
            area=area_of(place),
            num=1,
            tag=module,
        )
    for p in range(40):
        key = f"{tp}-p{p}"
        place = rng.choice(places)
        role = rng.choice(roles)
        gender = rng.choice(genders)
        country = place.country
        done = modules if rng.random() < 0.9 else rng.sample(modules, 2)
        for module in done:
            on = date(YEAR, 4, 14 + modules.index(module) // 2)
            ev = TrainingAttended(
                programme_id=tp,
                participant_key=key,
                module_code=module,
                session_id=f"{tp}-s0",
                role=role,
                country=country,
                place=place,
                gender=gender,
                attended_on=on,
            )
            emit("training", ev, datetime(on.year, on.month, on.day, 19, tzinfo=UTC))
            truth(
                code="ED.MODULE_ATTENDANCE",
                time=datetime(on.year, on.month, on.day, tzinfo=UTC),
                area=area_of(place),
                num=1,
                role=role.value,
                gender=gender,
                tag=module,
            )
        if len(done) == 4:
            on = date(YEAR, 4, 16)
            done_ev = TrainingCompleted(
                programme_id=tp,
                participant_key=key,
                role=role,
                country=country,
                place=place,
                gender=gender,
                completed_on=on,
                modules=modules,
            )
            emit("training", done_ev, datetime(YEAR, 4, 16, 20, tzinfo=UTC))
            if p % 10 == 0:  # a second completion event for the same person (a re-run): counted once
                emit("training", done_ev, datetime(YEAR, 4, 17, 9, tzinfo=UTC))
            truth(
                code="ED.TRAINING_COMPLETED",
                time=datetime(YEAR, 4, 16, tzinfo=UTC),
                area=area_of(place),
                num=1,
                role=role.value,
                gender=gender,
            )
    for kind, code, total, when, place, visitors in (
        (ActivityKind.STUDY_TOUR, "ED.STUDY_TOUR_PARTICIPANTS", 20, date(YEAR, 8, 18), lv_m, "RU"),
        (ActivityKind.CONFERENCE, "ED.CONFERENCE_PARTICIPANTS", 46, date(YEAR, 8, 20), lv_m, None),
        (ActivityKind.STAFF_EXCHANGE, "ED.STAFF_EXCHANGE", 8, date(YEAR, 9, 8), ru_m, "LV"),
    ):
        cells = [
            ParticipantCount(
                country=visitors or place.country,
                role=Role.ELDER,
                gender="female",
                count=total // 2,
            )
        ]
        emit(
            "training",
            ActivityHeld(
                activity_id=f"{run}-{kind.value}",
                kind=kind,
                title=_t(kind.value),
                starts_on=when,
                ends_on=when + timedelta(days=2),
                place=place,
                participants=total,
                breakdown=cells,
            ),
            datetime(when.year, when.month, when.day, 20, tzinfo=UTC),
        )
        at = datetime(when.year, when.month, when.day, tzinfo=UTC)
        cell_area = area_of(place) if (visitors or place.country) == place.country else (visitors, None, None, None)
        truth(code=code, time=at, area=cell_area, num=total // 2, role="elder", gender="female")
        truth(code=code, time=at, area=area_of(place), num=total - total // 2)

    # ---- devices -----------------------------------------------------------------------------------------
    for d in range(36):
        device = f"{run}-dev{d}"
        place = places[d % len(places)]
        a = area_of(place)
        installed = _day(rng, date(YEAR, 2, 1), 120)
        emit(
            "alerts",
            DeviceInstalled(
                device_id=device,
                kind=rng.choice(["siren", "radio"]),
                place=place,
                partner_id="p1",
                installed_at=installed,
                heartbeat_interval_s=60,
            ),
            installed,
        )
        kind_tag = prog.events[-1].data.kind.value  # type: ignore[attr-defined]
        truth(code="CA.DEVICES_INSTALLED", time=installed, area=a, num=1, tag=kind_tag)
        history = [(installed, "installed", a)]
        at = installed + timedelta(hours=1)
        status = "online"
        prev = "installed"
        while at < datetime(YEAR, 12, 31, tzinfo=UTC):
            emit(
                "alerts",
                DeviceStatusChanged(
                    device_id=device,
                    place=place,
                    previous_status=prev,
                    status=status,
                    changed_at=at,
                ),
                at + timedelta(seconds=30),
            )
            history.append((at, status, a))
            prev = status
            if status == "decommissioned":
                break
            if status == "online":
                status = (
                    rng.choice(["offline", "offline", "maintenance"]) if d != 5 or at.month < 10 else "decommissioned"
                )
                at += timedelta(hours=rng.randint(24, 24 * 40))
            else:
                status = "online"
                at += timedelta(hours=rng.randint(1, 48))
        prog.devices[device] = history

    # ---- alerts ------------------------------------------------------------------------------------------
    for n in range(alerts):
        alert = f"{run}-al{n}"
        place = rng.choice(places)
        raised = _day(rng, date(YEAR, 3, 1), 270)
        drill = rng.random() < 0.1
        cap_status = "Exercise" if drill else "Actual"
        base = {
            "alert_id": alert,
            "drill": drill,
            "identifier": f"id-{alert}",
            "sender": "partner@example.org",
            "sent": raised,
            "status": cap_status,
            "category": "Met",
            "event": "storm",
            "urgency": "Immediate",
            "severity": "Severe",
            "certainty": "Observed",
            "area_desc": "area",
            "place": place,
            "partner_id": "p1",
            "received_at": raised,
            "ack_deadline": raised + timedelta(minutes=15),
        }
        cancel = rng.random() < 0.05
        cancel_first = cancel and rng.random() < 0.5
        cancelled_at = raised + timedelta(minutes=30)
        if cancel_first:  # the Cancel overtakes the alert (out of order)
            emit(
                "alerts",
                AlertCancelled(alert_id=alert, drill=drill, cancelled_at=cancelled_at, place=place),
                cancelled_at,
            )
        emit("alerts", AlertRaised(msg_type="Alert", **base), raised)
        if rng.random() < 0.1:  # a CAP Update of the same alert
            upd = raised + timedelta(minutes=3)
            emit("alerts", AlertRaised(msg_type="Update", **{**base, "received_at": upd, "headline": "update"}), upd)
        r = rng.random()
        acked = r < 0.9
        within = r < 0.8
        if acked:
            ack_at = raised + timedelta(minutes=5 if within else 40)
            emit(
                "alerts",
                AlertAcknowledged(
                    alert_id=alert,
                    drill=drill,
                    acknowledged_by="u1",
                    acknowledged_at=ack_at,
                    raised_at=raised,
                    severity="Severe",
                    place=place,
                    within_deadline=within,
                ),
                ack_at,
            )
            if rng.random() < 0.2:  # a second, later acknowledgement: the first one decides
                later = ack_at + timedelta(minutes=60)
                emit(
                    "alerts",
                    AlertAcknowledged(
                        alert_id=alert,
                        drill=drill,
                        acknowledged_by="u2",
                        acknowledged_at=later,
                        raised_at=raised,
                        severity="Severe",
                        place=place,
                        within_deadline=False,
                    ),
                    later,
                )
        if cancel and not cancel_first:
            emit(
                "alerts",
                AlertCancelled(alert_id=alert, drill=drill, cancelled_at=cancelled_at, place=place),
                cancelled_at,
            )
        if not drill and not cancel:
            truth(code="CA.ALERTS_ACK_IN_TIME", time=raised, area=area_of(place), num=1 if within else 0, den=1)

    # ---- deliverables ------------------------------------------------------------------------------------
    deliverables = [
        ("brochure_lsg", 300, "lv", "SD.BROCHURE_LSG"),
        ("handbook_elders", 100, "lv", "ED.HANDBOOK_ELDERS"),
        ("handbook_elders", 100, "ru", "ED.HANDBOOK_ELDERS"),
        ("handbook_elders", 100, "en", "ED.HANDBOOK_ELDERS"),
        ("brochure_institute_of_elders", 250, "ru", "ED.BROCHURE_ELDERS"),
        ("recommendations", 300, "multi", "CA.RECOMMENDATIONS"),
        ("emergency_information_material", 500, "multi", "CA.EMERGENCY_INFO_MATERIAL"),
        ("concept_local_elders", 1, "multi", "CA.CONCEPT"),
        ("cooperation_agreement_municipalities", 1, "multi", "CA.AGREEMENT_MUNICIPALITIES"),
        ("cooperation_agreement_partners", 1, "multi", "CA.AGREEMENT_PARTNERS"),
        ("best_practice_collection", 1, "en", "ED.BEST_PRACTICE"),
        ("training_kit", 1, "multi", "ED.TRAINING_KIT"),
    ]
    for i, (dkind, qty, lang, code) in enumerate(deliverables):
        on = date(YEAR, 5 + i % 7, 10)
        did = f"{run}-del{i}"
        at = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
        if dkind == "recommendations":  # recorded with a wrong quantity first, then corrected
            emit(
                "reporting",
                DeliverableRecorded(
                    deliverable_id=did,
                    kind=dkind,
                    quantity=200,
                    language=lang,
                    recorded_on=on,
                ),
                at,
            )
            at += timedelta(days=3)
        emit(
            "reporting",
            DeliverableRecorded(
                deliverable_id=did,
                kind=dkind,
                quantity=qty,
                language=lang,
                recorded_on=on,
                evidence_url="https://example.org/e",
            ),
            at,
        )
        day = datetime(on.year, on.month, on.day, tzinfo=UTC)
        truth(code=code, time=day, area=(None, None, None, None), num=qty if code not in _COUNTED else 1, tag=lang)
        if dkind == "handbook_elders":
            truth(code="ED.HANDBOOK_LANGUAGES", time=day, area=(None, None, None, None), num=1, tag=lang)

    # ---- delivery: shuffle (out of order), duplicate some records -----------------------------------------
    prog.unique_events = len(prog.events)
    rng.shuffle(prog.events)
    dups = [e for e in prog.events if rng.random() < duplicate_share]
    for e in dups:
        prog.events.insert(rng.randrange(len(prog.events) + 1), e)
    return prog


_COUNTED = {"CA.CONCEPT", "CA.AGREEMENT_MUNICIPALITIES", "CA.AGREEMENT_PARTNERS", "ED.BEST_PRACTICE", "ED.TRAINING_KIT"}


def records(events: list[CloudEvent]) -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    """(topic, key, value, headers) of each event, ready for a producer."""
    out = []
    for e in events:
        key, value, headers = e.to_kafka()
        out.append((e.topic, key, value, [(k, v.encode()) for k, v in headers.items()]))
    return out
