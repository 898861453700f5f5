"""The programme year's content: questionnaire, meetings, training, activities, deliverables, devices, alerts.

Everything here is data (dates of the programme year 2025, trilingual texts). ``scenario.py`` turns it into
calls on the services. ``MID_YEAR`` is the programme's state on 30 June: every step dated after it is left out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

MID_YEAR = date(2025, 6, 30)
YEAR_START = date(2025, 1, 1)


def t(lv: str, ru: str, en: str) -> dict[str, str]:
    return {"lv": lv, "ru": ru, "en": en}


# ---- opinion surveys --------------------------------------------------------------------------------------
QUESTIONS: list[dict[str, Any]] = [
    {
        "question_id": "q_dialogue",
        "type": "likert_5",
        "required": True,
        "indicator": "satisfaction_dialogue",
        "label": t(
            "Cik apmierināts esat ar dialogu ar pašvaldības pārstāvjiem? (1–5)",
            "Насколько вы удовлетворены диалогом с представителями органов местного самоуправления? (1–5)",
            "How satisfied are you with the dialogue with local government representatives? (1-5)",
        ),
    },
    {
        "question_id": "q_involvement",
        "type": "likert_5",
        "required": True,
        "indicator": "satisfaction_involvement",
        "label": t(
            "Cik apmierināts esat ar savu iesaisti reģiona attīstībā? (1–5)",
            "Насколько вы удовлетворены своим участием в развитии региона? (1–5)",
            "How satisfied are you with your involvement in regional development? (1-5)",
        ),
    },
    {
        "question_id": "q_channel",
        "type": "single_choice",
        "label": t(
            "Kā jūs visbiežāk uzzināt par pašvaldības lēmumiem?",
            "Как вы чаще всего узнаёте о решениях местной власти?",
            "How do you most often learn about the local government's decisions?",
        ),
        "options": [
            {"code": "elder", "label": t("No ciema vecākā", "От старосты", "From the village elder")},
            {"code": "website", "label": t("Pašvaldības tīmekļvietnē", "На сайте администрации", "Municipal website")},
            {"code": "social", "label": t("Sociālajos tīklos", "В социальных сетях", "Social media")},
            {"code": "board", "label": t("Ziņojumu dēlī", "На доске объявлений", "Notice board")},
            {"code": "meeting", "label": t("Iedzīvotāju sapulcē", "На сходе жителей", "Residents' meeting")},
        ],
    },
    {
        "question_id": "q_priorities",
        "type": "multiple_choice",
        "label": t(
            "Kas jūsu ciemā būtu jāuzlabo vispirms?",
            "Что в вашем населённом пункте нужно улучшить в первую очередь?",
            "What should be improved first in your village?",
        ),
        "options": [
            {"code": "roads", "label": t("Ceļi", "Дороги", "Roads")},
            {"code": "water", "label": t("Ūdensapgāde", "Водоснабжение", "Water supply")},
            {"code": "internet", "label": t("Internets un mobilais sakars", "Интернет и связь", "Internet, mobile")},
            {"code": "transport", "label": t("Sabiedriskais transports", "Общественный транспорт", "Public transport")},
            {"code": "health", "label": t("Veselības aprūpe", "Здравоохранение", "Health care")},
            {"code": "safety", "label": t("Drošība un apziņošana", "Безопасность и оповещение", "Safety, alerting")},
        ],
    },
    {
        "question_id": "q_comment",
        "type": "free_text",
        "label": t("Jūsu ierosinājumi", "Ваши предложения", "Your suggestions"),
    },
]

# Likert shares of answers 1..5 by wave: a rising trend (wave 1 below target, wave 4 well above).
DIALOGUE_SHARES = [
    [0.07, 0.15, 0.24, 0.36, 0.18],
    [0.05, 0.11, 0.22, 0.39, 0.23],
    [0.04, 0.08, 0.18, 0.42, 0.28],
    [0.03, 0.06, 0.14, 0.43, 0.34],
]
INVOLVEMENT_SHARES = [
    [0.08, 0.16, 0.25, 0.34, 0.17],
    [0.06, 0.12, 0.22, 0.38, 0.22],
    [0.04, 0.09, 0.19, 0.41, 0.27],
    [0.03, 0.06, 0.15, 0.43, 0.33],
]
COMMENTS = {
    "LV": [
        "Vajag labāku ceļu uz pagasta centru.",
        "Gribētos biežākas iedzīvotāju sapulces.",
        "Paldies vecākajam par informāciju!",
        "Nav mobilā sakara mežmalā.",
        "Autobuss kursē pārāk reti.",
    ],
    "RU": [
        "Нужна дорога до центра поселения.",
        "Староста хорошо информирует жителей.",
        "Нет устойчивой мобильной связи.",
        "Просим чаще проводить сходы.",
        "Автобус ходит два раза в неделю.",
    ],
}

# (wave, country, fieldwork start, fieldwork end)
SURVEY_WAVES: list[tuple[int, str, date, date]] = [
    (1, "LV", date(2025, 2, 3), date(2025, 2, 28)),
    (2, "RU", date(2025, 5, 5), date(2025, 5, 30)),
    (3, "LV", date(2025, 8, 4), date(2025, 8, 29)),
    (4, "RU", date(2025, 11, 3), date(2025, 11, 28)),
]

# ---- meetings --------------------------------------------------------------------------------------------
# (id suffix, kind, village (en), country, date, title, [(role, gender, count)], problems, initiatives)
MEETINGS: list[dict[str, Any]] = [
    {
        "key": "fg1",
        "kind": "focus_group",
        "village": "Nirza",
        "country": "LV",
        "held_on": date(2025, 3, 19),
        "title": t(
            "Fokusgrupa: attālāko ciemu problēmas (Ludzas novads)",
            "Фокус-группа: проблемы отдалённых деревень (Лудзенский край)",
            "Focus group: problems of the most remote villages (Ludza)",
        ),
        "participants": [
            ("elder", "female", 4),
            ("elder", "male", 3),
            ("initiative_group", "female", 6),
            ("initiative_group", "male", 4),
            ("resident", "female", 3),
            ("resident", "male", 2),
        ],
        "problems": [
            ("Ziemā ceļš uz Nirzu netiek tīrīts laikā.", "lv"),
            ("Nav sabiedriskā transporta brīvdienās.", "lv"),
        ],
        "initiatives": [("Kopīga sniega tīrīšanas grafiks ar zemniekiem.", "lv")],
    },
    {
        "key": "cons1",
        "kind": "public_consultation",
        "village": "Alekhovshchina",
        "country": "RU",
        "held_on": date(2025, 4, 16),
        "title": t(
            "Sabiedriskā apspriešana: saziņas kanāli ar rajona centru",
            "Общественные консультации: каналы связи с районным центром",
            "Public consultation: communication channels with the district centre",
        ),
        "participants": [
            ("resident", "female", 9),
            ("resident", "male", 7),
            ("elder", "male", 3),
            ("elder", "female", 2),
            ("municipal_representative", "female", 3),
            ("initiative_group", "female", 2),
        ],
        "problems": [("Жители не знают, к кому обращаться по вопросам ЖКХ.", "ru")],
        "initiatives": [("Группа поселения в мессенджере с участием старост.", "ru")],
    },
    {
        "key": "fg2",
        "kind": "focus_group",
        "village": "Shugozero",
        "country": "RU",
        "held_on": date(2025, 9, 24),
        "title": t(
            "Fokusgrupa: vecāko iniciatīvas (Tihvinas rajons)",
            "Фокус-группа: инициативы старост (Тихвинский район)",
            "Focus group: elders' initiatives (Tikhvin district)",
        ),
        "participants": [
            ("elder", "male", 6),
            ("elder", "female", 7),
            ("initiative_group", "female", 5),
            ("initiative_group", "male", 3),
            ("municipal_representative", "female", 2),
        ],
        "problems": [("Деревни без освещения улиц.", "ru"), ("Нет сирены в удалённых деревнях.", "ru")],
        "initiatives": [("Добровольная пожарная дружина в Шугозере.", "ru")],
    },
    {
        "key": "cons2",
        "kind": "public_consultation",
        "village": "Indra",
        "country": "LV",
        "held_on": date(2025, 10, 8),
        "title": t(
            "Sabiedriskā apspriešana: pašvaldības informācija lauku ciemiem",
            "Общественные консультации: информация самоуправления для сёл",
            "Public consultation: municipal information for rural villages",
        ),
        "participants": [
            ("resident", "female", 10),
            ("resident", "male", 8),
            ("elder", "female", 3),
            ("initiative_group", "male", 3),
            ("municipal_representative", "male", 2),
        ],
        "problems": [("Pašvaldības avīze nesasniedz visus ciemus.", "lv")],
        "initiatives": [("Ciema informācijas stends pie veikala.", "lv")],
    },
    {
        "key": "forum",
        "kind": "forum",
        "village": "Pilda",
        "country": "LV",
        "held_on": date(2025, 10, 22),
        "title": t(
            "Pašvaldību forums “Lauku kopienas un vietējā pārvalde”",
            "Форум МСУ «Сельские сообщества и местное управление»",
            'LSG forum "Rural communities and local governance"',
        ),
        "participants": [
            ("elder", "male", 14),
            ("elder", "female", 16),
            ("municipal_head", "male", 9),
            ("municipal_head", "female", 5),
            ("municipal_representative", "female", 18),
            ("municipal_representative", "male", 11),
            ("initiative_group", "female", 12),
            ("initiative_group", "male", 8),
            ("staff", "female", 6),
        ],
        "problems": [("Jauniešu aizplūšana no laukiem.", "lv"), ("Отток молодёжи из сёл.", "ru")],
        "initiatives": [("Kopīgs vecāko tīkls abās valstīs.", "lv"), ("Обмен опытом старост двух стран.", "ru")],
    },
]

# ---- training --------------------------------------------------------------------------------------------
MODULES = [
    ("M1", t("Vietējās pārvaldes pamati", "Основы местного самоуправления", "Basics of local self-government"), 4),
    ("M2", t("Komunikācija ar iedzīvotājiem", "Коммуникация с жителями", "Communicating with residents"), 4),
    ("M3", t("Iedzīvotāju iniciatīvas un projekti", "Инициативы жителей и проекты", "Initiatives and projects"), 4),
    ("M4", t("Ārkārtas situāciju apziņošana", "Оповещение при чрезвычайных ситуациях", "Emergency communication"), 4),
]
TRAINING_DAYS = (date(2025, 5, 20), date(2025, 5, 21))  # M1, M2 on day 1; M3, M4 on day 2
TRAINEES_PER_COUNTRY = 19  # 38 enrolled, 3 absent from one module each: 35 complete
TRAINERS = ["Inese Bērziņa", "Щёголева Юлия Эдуардовна", "Māris Ozoliņš"]

ACTIVITIES: list[dict[str, Any]] = [
    {
        "key": "study-tour",
        "kind": "study_tour",
        "village": "Istra",
        "country": "LV",
        "starts_on": date(2025, 9, 8),
        "ends_on": date(2025, 9, 12),
        "title": t("Studiju brauciens uz Latviju", "Учебная поездка в Латвию", "Study tour to Latvia"),
    },
    {
        "key": "conference",
        "kind": "conference",
        "village": "Istra",
        "country": "LV",
        "starts_on": date(2025, 9, 11),
        "ends_on": date(2025, 9, 11),
        "title": t("Labās prakses konference", "Конференция лучших практик", "Best-practice conference"),
    },
    {
        "key": "staff-exchange",
        "kind": "staff_exchange",
        "village": "Vinnitsy",
        "country": "RU",
        "starts_on": date(2025, 11, 3),
        "ends_on": date(2025, 11, 7),
        "title": t("Darbinieku apmaiņa", "Обмен сотрудниками", "Staff exchange"),
    },
]

# ---- deliverables (reporting) ----------------------------------------------------------------------------
# (id suffix, kind, quantity, language, date, evidence)
DELIVERABLES: list[tuple[str, str, int, str, date, str | None]] = [
    (
        "agreement-partners",
        "cooperation_agreement_partners",
        1,
        "multi",
        date(2025, 1, 20),
        "https://www.lps.lv/lv/projekti/lsg-development/ligums",
    ),
    ("best-practice", "best_practice_collection", 1, "multi", date(2025, 3, 31), None),
    ("training-kit", "training_kit", 1, "multi", date(2025, 5, 12), None),
    ("emergency-info-lv", "emergency_information_material", 250, "lv", date(2025, 6, 16), None),
    (
        "concept-elders",
        "concept_local_elders",
        1,
        "multi",
        date(2025, 7, 15),
        "https://www.lps.lv/lv/projekti/lsg-development/koncepcija",
    ),
    ("emergency-info-ru", "emergency_information_material", 250, "ru", date(2025, 8, 20), None),
    ("brochure-lsg-lv", "brochure_lsg", 150, "lv", date(2025, 10, 1), None),
    ("brochure-lsg-ru", "brochure_lsg", 150, "ru", date(2025, 10, 1), None),
    ("handbook-lv", "handbook_elders", 100, "lv", date(2025, 11, 14), None),
    ("handbook-ru", "handbook_elders", 150, "ru", date(2025, 11, 14), None),
    ("handbook-en", "handbook_elders", 50, "en", date(2025, 11, 14), None),
    ("brochure-elders-ru", "brochure_institute_of_elders", 250, "ru", date(2025, 11, 20), None),
    ("recommendations-lv", "recommendations", 150, "lv", date(2025, 12, 5), None),
    ("recommendations-ru", "recommendations", 150, "ru", date(2025, 12, 5), None),
    (
        "agreement-municipalities",
        "cooperation_agreement_municipalities",
        1,
        "multi",
        date(2025, 12, 15),
        "https://www.lps.lv/lv/projekti/lsg-development/sadarbibas-ligums",
    ),
]

# ---- partners and devices --------------------------------------------------------------------------------
PARTNERS: list[dict[str, Any]] = [
    {
        "partner_id": "lv-latgale-sirens",
        "kind": "vendor",
        "country": "LV",
        "label": t("SIA Latgales sirēnu serviss", "ООО «Латгальский сервис сирен»", "Latgale Siren Service Ltd"),
    },
    {
        "partner_id": "ru-lenobl-opoveshchenie",
        "kind": "vendor",
        "country": "RU",
        "label": t("SIA Ļenoblopoveščeņije", "ООО «Леноблоповещение»", "Lenobl Alerting LLC"),
    },
    {
        "partner_id": "lv-latgale-dispatch",
        "kind": "regional_emergency_service",
        "country": "LV",
        "label": t(
            "Latgales reģiona dispečerdienests",
            "Диспетчерская служба Латгальского региона",
            "Latgale regional dispatch",
        ),
    },
    {
        "partner_id": "ru-edds-lenobl",
        "kind": "municipal_dispatch",
        "country": "RU",
        "label": t(
            "Ļeņingradas apgabala vienotais dispečerdienests",
            "ЕДДС Ленинградской области",
            "Leningrad region unified duty dispatch",
        ),
    },
]
VENDOR = {"LV": "lv-latgale-sirens", "RU": "ru-lenobl-opoveshchenie"}
DISPATCH = {"LV": "lv-latgale-dispatch", "RU": "ru-edds-lenobl"}
DEVICE_KINDS = ["siren", "public_address", "radio", "gsm_alarm_panel", "satellite_messenger"]
KIND_CODE = {
    "siren": "SIR",
    "public_address": "PA",
    "radio": "RAD",
    "gsm_alarm_panel": "GSM",
    "satellite_messenger": "SAT",
}
DEVICES_PER_COUNTRY = {"LV": 18, "RU": 17}
HEARTBEAT_INTERVAL_S = 900  # a link test every 15 minutes: offline after 45 minutes of silence
# Installation dates of the 35 devices: 15 by the mid-year milestone, the rest from July to October.
INSTALL_DATES = (
    [date(2025, 2, 17)] * 5
    + [date(2025, 3, 24)] * 5
    + [date(2025, 5, 26)] * 5
    + [date(2025, 7, 14)] * 7
    + [date(2025, 8, 25)] * 7
    + [date(2025, 10, 6)] * 6
)

# ---- CAP alerts ------------------------------------------------------------------------------------------
# outcome: ack (acknowledged at once), ack+update, ack+resolve, drill, escalate (left until it escalates),
# cancel (a false alarm, cancelled by its sender).
ALERTS: list[dict[str, Any]] = [
    {
        "key": "storm-0305",
        "day": date(2025, 3, 5),
        "country": "LV",
        "category": "Met",
        "event": "Vētra",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "language": "lv",
        "headline": "Vētra: vēja brāzmas līdz 28 m/s Ludzas novadā",
        "description": "Naktī uz 6. martu gaidāmas vēja brāzmas līdz 28 m/s, "
        "iespējami koku vējgāzes un elektroapgādes traucējumi.",
        "instruction": "Nostipriniet priekšmetus pagalmā, neuzturieties mežā, sekojiet pašvaldības informācijai.",
        "outcome": "ack",
    },
    {
        "key": "flood-0328",
        "day": date(2025, 3, 28),
        "country": "LV",
        "category": "Met",
        "event": "Pavasara plūdi",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "language": "lv",
        "headline": "Pavasara plūdi: Daugavas līmenis pie Piedrujas strauji ceļas",
        "description": "Ledus sastrēgums Daugavā; ūdens līmenis pie Piedrujas pieaug par 20 cm stundā.",
        "instruction": "Pārvietojiet vērtīgās mantas augstāk, sagatavojieties evakuācijai, sekojiet norādēm.",
        "outcome": "ack+update",
    },
    {
        "key": "fire-0422",
        "day": date(2025, 4, 22),
        "country": "RU",
        "category": "Fire",
        "event": "Лесной пожар",
        "urgency": "Immediate",
        "severity": "Extreme",
        "certainty": "Observed",
        "language": "ru",
        "headline": "Лесной пожар у деревни Алёховщина",
        "description": "Верховой пожар в 3 км к северу от деревни, ветер в сторону жилых домов.",
        "instruction": "Подготовьтесь к эвакуации, закройте окна, следуйте указаниям старосты и МЧС.",
        "outcome": "ack",
    },
    {
        "key": "power-0515",
        "day": date(2025, 5, 15),
        "country": "RU",
        "category": "Infra",
        "event": "Отключение электроэнергии",
        "urgency": "Expected",
        "severity": "Moderate",
        "certainty": "Observed",
        "language": "ru",
        "headline": "Отключение электроэнергии в Шугозёрском поселении",
        "description": "Авария на подстанции; восстановление ожидается в течение 12 часов.",
        "instruction": "Берегите заряд телефонов, проверьте запасы воды; пожилым соседям нужна помощь.",
        "outcome": "ack+resolve",
    },
    {
        "key": "drill-0605",
        "day": date(2025, 6, 5),
        "country": "LV",
        "category": "Safety",
        "event": "Civilās aizsardzības mācības",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "language": "lv",
        "headline": "MĀCĪBAS: sirēnu pārbaude Krāslavas novadā",
        "description": "Plānotas civilās aizsardzības mācības; sirēnas skanēs 3 minūtes.",
        "instruction": "Tās ir mācības; nekāda rīcība nav nepieciešama.",
        "status": "Exercise",
        "outcome": "drill",
    },
    {
        "key": "storm-0620",
        "day": date(2025, 6, 20),
        "country": "RU",
        "category": "Met",
        "event": "Гроза, шквалистый ветер",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Likely",
        "language": "ru",
        "headline": "Гроза со шквалистым ветром до 25 м/с",
        "description": "Ожидаются грозы, град и шквалистое усиление ветра до 25 м/с.",
        "instruction": "Оставайтесь в помещении, не укрывайтесь под деревьями.",
        "outcome": "ack",
    },
    {
        "key": "grassfire-0709",
        "day": date(2025, 7, 9),
        "country": "LV",
        "category": "Fire",
        "event": "Kūlas ugunsgrēks",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "language": "lv",
        "headline": "Kūlas ugunsgrēks pie Kaļviem tuvojas mājām",
        "description": "Deg sausa zāle 5 ha platībā, dūmi pār ciemu.",
        "instruction": "Aizveriet logus, neapdraudiet ugunsdzēsējus, sekojiet VUGD norādēm.",
        "outcome": "ack",
    },
    {
        "key": "flood-0802",
        "day": date(2025, 8, 2),
        "country": "RU",
        "category": "Met",
        "event": "Сильный ливень, подтопление",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "language": "ru",
        "headline": "Сильный ливень: подтопление дорог в Винницах",
        "description": "За сутки ожидается до 60 мм осадков, возможно подтопление низин и дорог.",
        "instruction": "Не пересекайте затопленные участки дорог.",
        "outcome": "ack",
    },
    {
        "key": "storm-0816",
        "day": date(2025, 8, 16),
        "country": "LV",
        "category": "Met",
        "event": "Stipra vētra",
        "urgency": "Immediate",
        "severity": "Extreme",
        "certainty": "Observed",
        "language": "lv",
        "headline": "Stipra vētra naktī: vēja brāzmas līdz 32 m/s",
        "description": "Naktī pāri Latgalei virzās spēcīgs negaisa fronts.",
        "instruction": "Palieciet telpās; ja iespējams, atslēdziet elektroierīces.",
        "outcome": "escalate",
    },
    {
        "key": "power-0923",
        "day": date(2025, 9, 23),
        "country": "RU",
        "category": "Infra",
        "event": "Авария на ЛЭП",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "language": "ru",
        "headline": "Авария на ЛЭП: без света Большой Двор и соседние деревни",
        "description": "Падение деревьев на линию 10 кВ.",
        "instruction": "Не приближайтесь к оборванным проводам, сообщайте о них по номеру 112.",
        "outcome": "ack",
    },
    {
        "key": "flood-1018",
        "day": date(2025, 10, 18),
        "country": "LV",
        "category": "Met",
        "event": "Plūdi pēc lietavām",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "language": "lv",
        "headline": "Plūdi Vecumu pagastā pēc ilgstošām lietavām",
        "description": "Upes izgājušas no krastiem, applūduši ceļi uz Borisovu.",
        "instruction": "Neizbrauciet pa applūdušiem ceļiem.",
        "outcome": "ack",
    },
    {
        "key": "ice-1107",
        "day": date(2025, 11, 7),
        "country": "RU",
        "category": "Met",
        "event": "Ледяной дождь",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "language": "ru",
        "headline": "Ледяной дождь и гололёд в Тихвинском районе",
        "description": "Ожидается ледяной дождь, налипание льда на провода и деревья.",
        "instruction": "Ограничьте поездки, будьте осторожны на дорогах.",
        "outcome": "ack",
    },
    {
        "key": "power-1126",
        "day": date(2025, 11, 26),
        "country": "LV",
        "category": "Infra",
        "event": "Elektroapgādes traucējumi",
        "urgency": "Expected",
        "severity": "Moderate",
        "certainty": "Observed",
        "language": "lv",
        "headline": "Elektroapgādes traucējumi Veclaicenes pagastā",
        "description": "Bojāta 20 kV līnija; atjaunošana līdz vakaram.",
        "instruction": "Pārbaudiet kaimiņus, īpaši vecākus cilvēkus.",
        "outcome": "ack+resolve",
    },
    {
        "key": "snow-1212",
        "day": date(2025, 12, 12),
        "country": "RU",
        "category": "Met",
        "event": "Сильный снегопад, метель",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "language": "ru",
        "headline": "Сильный снегопад и метель в Самойловском поселении",
        "description": "До 25 см снега за сутки, метель, заносы на дорогах.",
        "instruction": "Запаситесь продуктами и топливом, откажитесь от поездок.",
        "outcome": "ack",
    },
    {
        "key": "false-1220",
        "day": date(2025, 12, 20),
        "country": "LV",
        "category": "Safety",
        "event": "Ķīmiskā noplūde",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Possible",
        "language": "lv",
        "headline": "Iespējama ķīmiska noplūde (kļūdaini nosūtīts)",
        "description": "Ziņojums nosūtīts kļūdas pēc.",
        "instruction": "Nekāda rīcība nav nepieciešama.",
        "outcome": "cancel",
    },
]
LOW_BATTERY_DAY = date(2025, 7, 1)


# ---- the programme's money (issue 27): budget lines (partner, category, work package, EUR), EUR 204,600 in all
BUDGET_LINES = [
    ("LEAD", "staff", "WP1", "30000.00"),
    ("LEAD", "staff", "WP2", "20000.00"),
    ("LEAD", "travel", "WP3", "25000.00"),
    ("LEAD", "external_expertise", "WP2", "15000.00"),
    ("LEAD", "office_admin", "WP1", "6000.00"),
    ("LEAD", "equipment", "WP4", "16300.00"),
    ("LPS", "staff", "WP1", "28000.00"),
    ("LPS", "staff", "WP3", "20000.00"),
    ("LPS", "travel", "WP3", "12000.00"),
    ("LPS", "external_expertise", "WP2", "10000.00"),
    ("LPS", "office_admin", "WP1", "4300.00"),
    ("LPS", "equipment", "WP4", "18000.00"),
]
RUB_RATE = "0.0104"  # EUR per rouble, entered with the entry (never fetched)
# (key, month, partner, category, work package, amount, currency, vat, ineligible EUR, description lv/ru/en)
EXPENDITURE: list[tuple[str, int, str, str, str, str, str, str, str, tuple[str, str, str]]] = [
    *[
        (
            f"lead-staff-{m:02d}",
            m,
            "LEAD",
            "staff",
            "WP1",
            "240000.00",
            "RUB",
            "0.00",
            "0.00",
            ("Personāla atlīdzība", "Оплата труда персонала", "Staff salaries"),
        )
        for m in range(1, 13)
    ],
    *[
        (
            f"lps-staff-{m:02d}",
            m,
            "LPS",
            "staff",
            "WP1",
            "2200.00",
            "EUR",
            "0.00",
            "0.00",
            ("Personāla atlīdzība", "Оплата труда персонала", "Staff salaries"),
        )
        for m in range(1, 13)
    ],
    (
        "lps-equipment-04",
        4,
        "LPS",
        "equipment",
        "WP4",
        "4840.00",
        "EUR",
        "840.00",
        "840.00",
        ("Ārkārtas saziņas aprīkojums", "Оборудование экстренной связи", "Emergency communication equipment"),
    ),
    (
        "lead-equipment-08",
        8,
        "LEAD",
        "equipment",
        "WP4",
        "900000.00",
        "RUB",
        "150000.00",
        "0.00",
        ("Ārkārtas saziņas aprīkojums", "Оборудование экстренной связи", "Emergency communication equipment"),
    ),
    (
        "lead-travel-06",
        6,
        "LEAD",
        "travel",
        "WP3",
        "9000.00",
        "EUR",
        "0.00",
        "0.00",
        ("Mācību brauciens uz Latviju", "Учебная поездка в Латвию", "Study tour to Latvia"),
    ),
    (
        "lps-expertise-10",
        10,
        "LPS",
        "external_expertise",
        "WP2",
        "6050.00",
        "EUR",
        "1050.00",
        "0.00",
        ("Fokusgrupu moderēšana", "Модерация фокус-групп", "Focus group moderation"),
    ),
]
# corrections: (key of the new entry, key corrected, day, new amount); the second one comes after P1 is approved
EXPENDITURE_CORRECTIONS = [
    ("lps-staff-02-fix", "lps-staff-02", date(2025, 3, 5), "2350.00"),
    ("lead-travel-06-fix", "lead-travel-06", date(2025, 9, 15), "9400.00"),
]
REPORT_APPROVALS = [("P1", date(2025, 7, 10)), ("P2", date(2025, 12, 31))]
NARRATIVES = {
    "P1": {
        "WP2": t(
            "Notikušas divas iedzīvotāju aptaujas.", "Проведены два опроса жителей.", "Two residents' surveys held."
        ),
        "WP3": t(
            "Apmācības programma un mācību brauciens.",
            "Программа обучения и учебная поездка.",
            "Training and study tour.",
        ),
    },
    "P2": {
        "WP2": t("Vēl divas aptaujas un forums.", "Ещё два опроса и форум.", "Two more surveys and the forum."),
        "WP4": t(
            "Uzstādīti 35 saziņas risinājumi.", "Установлено 35 решений связи.", "35 communication solutions installed."
        ),
    },
}
