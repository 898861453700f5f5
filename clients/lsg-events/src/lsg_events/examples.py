"""One realistic example of every event type: used in the generated docs and the contract tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from lsg_events import alerts as a
from lsg_events import privacy as pv
from lsg_events import reporting as r
from lsg_events import surveys as s
from lsg_events import training as t
from lsg_events.base import EventData, ParticipantCount, Role
from lsg_events.geography import AreaUnit, Place
from lsg_events.i18n import LocalizedText as T

_NOW = datetime(2026, 5, 14, 9, 30, tzinfo=UTC)

LUDZA_VILLAGE = Place(
    country="LV",
    municipality=AreaUnit(code="0681000", name=T(lv="Ludzas novads", ru="Лудзенский край", en="Ludza Municipality")),
    territory=AreaUnit(code="0681066", name=T(lv="Pildas pagasts", ru="Пилдская волость", en="Pilda Parish")),
    settlement=AreaUnit(code="0681066-01", name=T(lv="Nirza", ru="Нирза", en="Nirza")),
)
VOLOSOVO_VILLAGE = Place(
    country="RU",
    municipality=AreaUnit(
        code="41609000", name=T(lv="Volosovas rajons", ru="Волосовский район", en="Volosovo District")
    ),
    territory=AreaUnit(
        code="41609404",
        name=T(lv="Besedas lauku apmetne", ru="Беседское сельское поселение", en="Beseda Rural Settlement"),
    ),
    settlement=AreaUnit(code="41609404101", name=T(lv="Beseda", ru="Беседа", en="Beseda")),
)
LV = Place(country="LV")


def _answers() -> list[s.ClosedAnswer]:
    return [
        s.ClosedAnswer(question_id="q1", indicator="satisfaction_dialogue", value=4),
        s.ClosedAnswer(question_id="q2", indicator="involvement_regional_development", value=3),
        s.ClosedAnswer(question_id="q3", choices=["social_media", "village_meeting"]),
    ]


def _aggregate() -> list[s.QuestionAggregate]:
    return [
        s.QuestionAggregate(
            question_id="q1",
            indicator="satisfaction_dialogue",
            n=267,
            mean=3.62,
            distribution={"1": 12, "2": 25, "3": 60, "4": 110, "5": 60},
            top2_box=170,
            top2_box_pct=63.67,
            ci95_low=3.49,
            ci95_high=3.75,
        )
    ]


EXAMPLES: dict[type[EventData], EventData] = {
    s.SurveyOpened: s.SurveyOpened(
        campaign_id="svy-2026-w1-lv",
        kind=s.CampaignKind.OPINION_SURVEY,
        wave=1,
        title=T(lv="Iedzīvotāju aptauja, 1. kārta", ru="Опрос жителей, волна 1", en="Residents' survey, wave 1"),
        place=LV,
        target_size=250,
        planned_start=date(2026, 5, 1),
        planned_end=date(2026, 5, 31),
        questions=[
            s.QuestionInfo(
                question_id="q1",
                type=s.QuestionType.LIKERT_5,
                indicator="satisfaction_dialogue",
                label=T(
                    lv="Cik apmierināts esat ar dialogu ar pašvaldību?",
                    ru="Насколько вы удовлетворены диалогом с самоуправлением?",
                    en="How satisfied are you with the dialogue with the local government?",
                ),
            )
        ],
        opened_at=_NOW,
    ),
    s.SurveyResponseRecorded: s.SurveyResponseRecorded(
        campaign_id="svy-2026-w1-lv",
        response_id="r-5f2c9a",
        respondent_key="pk-3b1e0c7d9a",
        wave=1,
        place=LUDZA_VILLAGE,
        age_band="45-54",
        gender="female",
        answers=_answers(),
        submitted_at=_NOW,
    ),
    s.SurveyResponseCorrected: s.SurveyResponseCorrected(
        campaign_id="svy-2026-w1-lv",
        response_id="r-5f2c9a",
        respondent_key="pk-3b1e0c7d9a",
        wave=1,
        place=LUDZA_VILLAGE,
        age_band="45-54",
        gender="female",
        answers=_answers(),
        submitted_at=_NOW,
        corrected_at=_NOW,
    ),
    s.SurveyCompleted: s.SurveyCompleted(
        campaign_id="svy-2026-w1-lv",
        kind=s.CampaignKind.OPINION_SURVEY,
        wave=1,
        place=LV,
        respondents=267,
        questions=_aggregate(),
        margin_of_error_95=6.0,
        closed_at=_NOW,
    ),
    s.FocusGroupHeld: s.FocusGroupHeld(
        campaign_id="fg-2026-1",
        title=T(lv="Fokusa grupa", ru="Фокус-группа", en="Focus group"),
        place=VOLOSOVO_VILLAGE,
        held_on=date(2026, 6, 3),
        participants=22,
        breakdown=[
            ParticipantCount(role=Role.ELDER, gender="male", count=12),
            ParticipantCount(role=Role.RESIDENT, gender="female", count=10),
        ],
        settlements_represented=[VOLOSOVO_VILLAGE],
        problems_raised=7,
        initiatives_raised=4,
    ),
    s.ConsultationHeld: s.ConsultationHeld(
        campaign_id="pc-2026-1",
        title=T(lv="Sabiedriskā apspriešana", ru="Общественные консультации", en="Public consultation"),
        place=LUDZA_VILLAGE,
        held_on=date(2026, 7, 9),
        participants=26,
    ),
    s.ForumHeld: s.ForumHeld(
        campaign_id="forum-2026",
        title=T(lv="PBLA forums", ru="Форум МСУ", en="LSG forum"),
        place=LV,
        held_on=date(2026, 9, 17),
        participants=120,
    ),
    t.TrainingSessionHeld: t.TrainingSessionHeld(
        programme_id="prog-2026",
        session_id="sess-m1-d1",
        module_code="M1",
        module_title=T(lv="Vecāko loma", ru="Роль старост", en="The role of elders"),
        held_on=date(2026, 4, 20),
        place=LUDZA_VILLAGE,
        language="ru",
        trainers=2,
        attendees=34,
    ),
    t.TrainingAttended: t.TrainingAttended(
        programme_id="prog-2026",
        participant_key="pp-8c41d2",
        module_code="M1",
        session_id="sess-m1-d1",
        role=Role.ELDER,
        country="RU",
        place=VOLOSOVO_VILLAGE,
        gender="male",
        attended_on=date(2026, 4, 20),
    ),
    t.TrainingCompleted: t.TrainingCompleted(
        programme_id="prog-2026",
        participant_key="pp-8c41d2",
        role=Role.ELDER,
        country="RU",
        place=VOLOSOVO_VILLAGE,
        gender="male",
        completed_on=date(2026, 4, 21),
        modules=["M1", "M2", "M3", "M4"],
    ),
    t.ActivityHeld: t.ActivityHeld(
        activity_id="tour-2026",
        kind=t.ActivityKind.STUDY_TOUR,
        title=T(lv="Pieredzes brauciens uz Latviju", ru="Учебная поездка в Латвию", en="Study tour to Latvia"),
        starts_on=date(2026, 8, 24),
        ends_on=date(2026, 8, 28),
        place=LUDZA_VILLAGE,
        participants=20,
        breakdown=[ParticipantCount(country="RU", count=20)],
    ),
    a.DeviceInstalled: a.DeviceInstalled(
        device_id="dev-lv-001",
        kind=a.DeviceKind.SIREN,
        place=LUDZA_VILLAGE,
        latitude=56.38,
        longitude=27.93,
        partner_id="partner-telia",
        installed_at=_NOW,
        heartbeat_interval_s=300,
    ),
    a.DeviceStatusChanged: a.DeviceStatusChanged(
        device_id="dev-lv-001",
        place=LUDZA_VILLAGE,
        previous_status=a.DeviceStatus.INSTALLED,
        status=a.DeviceStatus.ONLINE,
        reason="heartbeat",
        changed_at=_NOW,
    ),
    a.DeviceHeartbeat: a.DeviceHeartbeat(
        device_id="dev-lv-001",
        partner_id="partner-telia",
        sent_at=_NOW,
        battery_pct=87.5,
        signal_dbm=-71,
    ),
    a.AlertRaised: a.AlertRaised(
        alert_id="al-7f3e",
        identifier="LV-VUGD-2026-0142",
        sender="dispatch@vugd.example",
        sent=_NOW,
        status="Actual",
        msg_type="Alert",
        category="Met",
        event="Storm",
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        headline="Vētra / Шторм / Storm",
        area_desc="Pildas pagasts",
        place=LUDZA_VILLAGE,
        device_id="dev-lv-001",
        partner_id="partner-telia",
        received_at=_NOW,
    ),
    a.AlertAcknowledged: a.AlertAcknowledged(
        alert_id="al-7f3e",
        acknowledged_by="user-42",
        acknowledged_at=_NOW,
        raised_at=_NOW,
        severity="Severe",
        place=LUDZA_VILLAGE,
        within_deadline=True,
    ),
    a.AlertEscalated: a.AlertEscalated(
        alert_id="al-7f3e",
        level=a.EscalationLevel.MUNICIPALITY,
        escalated_at=_NOW,
        severity="Severe",
        place=LUDZA_VILLAGE,
    ),
    a.AlertResolved: a.AlertResolved(alert_id="al-7f3e", resolved_by="user-42", resolved_at=_NOW, place=LUDZA_VILLAGE),
    a.AlertCancelled: a.AlertCancelled(
        alert_id="al-7f3e", cancelled_at=_NOW, place=LUDZA_VILLAGE, reason="false alarm"
    ),
    a.NotificationSent: a.NotificationSent(
        alert_id="al-7f3e",
        notification_id="0b9c6f0e-3f7a-4c55-9a43-5b8f7c1d2e3f",
        contact_id="4d2a7e61-8c1b-4f0e-9d7a-2b6c5e8f1a90",
        channel=a.NotificationChannel.EMAIL,
        level=a.EscalationLevel.SETTLEMENT_ELDER,
        attempt=1,
        sent_at=_NOW,
    ),
    a.NotificationDelivered: a.NotificationDelivered(
        alert_id="al-7f3e",
        notification_id="0b9c6f0e-3f7a-4c55-9a43-5b8f7c1d2e3f",
        contact_id="4d2a7e61-8c1b-4f0e-9d7a-2b6c5e8f1a90",
        channel=a.NotificationChannel.EMAIL,
        level=a.EscalationLevel.SETTLEMENT_ELDER,
        evidence="link_opened",
        delivered_at=_NOW,
    ),
    a.NotificationFailed: a.NotificationFailed(
        alert_id="al-7f3e",
        notification_id="0b9c6f0e-3f7a-4c55-9a43-5b8f7c1d2e3f",
        contact_id="4d2a7e61-8c1b-4f0e-9d7a-2b6c5e8f1a90",
        channel=a.NotificationChannel.EMAIL,
        level=a.EscalationLevel.SETTLEMENT_ELDER,
        attempt=1,
        failed_at=_NOW,
        reason="connection",
        next="retry",
        retry_at=_NOW,
    ),
    r.DeliverableRecorded: r.DeliverableRecorded(
        deliverable_id="del-handbook-lv",
        kind="handbook_elders",
        quantity=100,
        language="lv",
        recorded_on=date(2026, 10, 1),
        evidence_url="https://lps.example/handbook.pdf",
    ),
    r.IndicatorUpdated: r.IndicatorUpdated(
        key="surveys_held|programme|country:LV",
        code="surveys_held",
        period="programme",
        area_level="country",
        area_code="LV",
        value=2,
        target=4,
        unit="surveys",
        as_of=_NOW,
    ),
    r.ExpenditureRecorded: r.ExpenditureRecorded(
        entry_id="exp-lps-0007",
        partner="LPS",
        category="travel",
        work_package="WP3",
        activity="A3.2",
        spent_on=date(2025, 5, 20),
        currency="EUR",
        amount=Decimal("1210.00"),
        rate=Decimal("1"),
        amount_eur=Decimal("1210.00"),
        vat_eur=Decimal("210.00"),
        period_id="P1",
    ),
    r.ExpenditureVerified: r.ExpenditureVerified(
        entry_id="exp-lps-0007",
        eligible_eur=Decimal("1000.00"),
        ineligible_eur=Decimal("210.00"),
        verified_on=date(2025, 7, 10),
    ),
    r.ReportSubmitted: r.ReportSubmitted(
        period_id="P1",
        period_start=date(2025, 1, 1),
        period_end=date(2025, 6, 30),
        submitted_at=_NOW,
    ),
    r.ReportApproved: r.ReportApproved(
        period_id="P1",
        period_start=date(2025, 1, 1),
        period_end=date(2025, 6, 30),
        approved_at=_NOW,
        declared_eur=Decimal("98250.00"),
        eligible_eur=Decimal("97040.00"),
        snapshot_sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ),
    pv.PersonErasureRequested: pv.PersonErasureRequested(
        request_id="er-2026-0007",
        requested_at=_NOW,
        subject_tokens=["ps_" + "3b" * 32, "ps_" + "c1" * 32],
        local_ids={"training": ["0b6f0c1e-3d0a-4c41-9a57-2f8a1d1f6e2b"]},
    ),
    pv.PersonErasureCompleted: pv.PersonErasureCompleted(
        request_id="er-2026-0007",
        service="training",
        completed_at=_NOW,
        erased={"participants": 1, "personal_records": 1, "audit_rows": 3},
    ),
}
