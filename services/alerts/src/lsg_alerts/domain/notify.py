"""Rules of reaching a person (plain Python, no I/O): who is on call, what happens after a failed attempt, the
signed acknowledgement link, and the message in the contact's language."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

LANGUAGES = ("lv", "ru", "en")
Language = Literal["lv", "ru", "en"]
DRILL_STATUSES = ("Test", "Exercise")


# ---- on call ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rota:
    """Members take turns of ``shift_s`` seconds from ``starts_at`` (each hand-over at starts_at + k·shift_s)."""

    starts_at: datetime
    shift_s: int
    members: Sequence[UUID]


@dataclass(frozen=True, slots=True)
class Override:
    """Holiday cover: ``contact_id`` holds the rota over [starts_at, ends_at)."""

    contact_id: UUID
    starts_at: datetime
    ends_at: datetime


def on_duty_index(rota: Rota, at: datetime) -> int | None:
    """The index in ``members`` of who holds the rota at ``at`` (None before the rota starts or when empty)."""
    if not rota.members or at < rota.starts_at:
        return None
    turns = int((at - rota.starts_at).total_seconds() // rota.shift_s)
    return turns % len(rota.members)


def on_call(rota: Rota, overrides: Sequence[Override], at: datetime) -> list[UUID]:
    """Who to reach, in order, at ``at``: an active override's person first (the latest-starting one wins), then
    the rota's holder, then the other members in rota order (the next person on call, and so on)."""
    order: list[UUID] = []
    active = sorted((o for o in overrides if o.starts_at <= at < o.ends_at), key=lambda o: o.starts_at, reverse=True)
    order.extend(o.contact_id for o in active)
    index = on_duty_index(rota, at)
    if index is not None:
        n = len(rota.members)
        order.extend(rota.members[(index + k) % n] for k in range(n))
    return list(dict.fromkeys(order))


# ---- after a failed attempt --------------------------------------------------------------------------------------
class Next(StrEnum):
    RETRY = "retry"
    NEXT_CHANNEL = "next_channel"
    NEXT_CONTACT = "next_contact"
    GAVE_UP = "gave_up"


def after_failure(
    attempts: int, max_attempts: int, channel_index: int, channels: int, candidate: int, candidates: int
) -> Next:
    """What follows a failed attempt (``attempts`` counts it) on a contact's channel."""
    if attempts < max_attempts:
        return Next.RETRY
    if channel_index + 1 < channels:
        return Next.NEXT_CHANNEL
    if candidate + 1 < candidates:
        return Next.NEXT_CONTACT
    return Next.GAVE_UP


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Seconds before the next try after ``attempts`` failures: doubling from ``base_s``, at most ``max_s``."""
    return float(min(base_s * 2 ** max(attempts - 1, 0), max_s))


# ---- the acknowledgement link -------------------------------------------------------------------------------------
_CONTEXT = b"lsg-alerts-ack-v1"
_SIG_BYTES = 20


class LinkProblem(StrEnum):
    FORGED = "forged"
    EXPIRED = "expired"


def sign_link(key: bytes, notification_id: UUID, expires: datetime) -> str:
    """A URL-safe token naming the notification and its expiry, signed with HMAC-SHA256 (truncated to 160 bits)."""
    raw = notification_id.bytes + int(expires.timestamp()).to_bytes(8, "big")
    sig = hmac.new(key, _CONTEXT + raw, hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(raw + sig).decode().rstrip("=")


def open_link(key: bytes, token: str, at: datetime) -> UUID | LinkProblem:
    """The notification a token names, or why it is refused (a forged token says nothing more)."""
    if not 0 < len(token) <= 128:
        return LinkProblem.FORGED
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return LinkProblem.FORGED
    if len(blob) != 24 + _SIG_BYTES:
        return LinkProblem.FORGED
    raw, sig = blob[:24], blob[24:]
    if not hmac.compare_digest(sig, hmac.new(key, _CONTEXT + raw, hashlib.sha256).digest()[:_SIG_BYTES]):
        return LinkProblem.FORGED
    if datetime.fromtimestamp(int.from_bytes(raw[16:], "big"), UTC) <= at:
        return LinkProblem.EXPIRED
    return UUID(bytes=raw[:16])


# ---- the reply code (channels without links) ---------------------------------------------------------------------
# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read aloud or typed on a phone keypad is not mistaken.
REPLY_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
REPLY_CODE_LENGTH = 6


def new_reply_code() -> str:
    """A random code (25^6, about 2.4e8): guessing one is also bound to the contact's own address or number."""
    return "".join(secrets.choice(REPLY_ALPHABET) for _ in range(REPLY_CODE_LENGTH))


def reply_code_in(text: str) -> str | None:
    """The code in a reply's text (its first word, any case, spaces and punctuation around it ignored), or None
    when the first word cannot be a code."""
    words = text.strip().split()
    if not words:
        return None
    word = words[0].strip(".,;:!?\"'()[]<>").upper()
    if len(word) != REPLY_CODE_LENGTH or any(ch not in REPLY_ALPHABET for ch in word):
        return None
    return word


# ---- messages ---------------------------------------------------------------------------------------------------
DRILL_WORD: dict[str, str] = {"lv": "MĀCĪBAS", "ru": "УЧЕНИЯ", "en": "DRILL"}

_SEVERITY: dict[str, dict[str, str]] = {
    "lv": {"Extreme": "ārkārtēja", "Severe": "nopietna", "Moderate": "mērena", "Minor": "neliela",
           "Unknown": "nezināma"},
    "ru": {"Extreme": "чрезвычайная", "Severe": "серьёзная", "Moderate": "умеренная", "Minor": "малая",
           "Unknown": "неизвестная"},
    "en": {"Extreme": "extreme", "Severe": "severe", "Moderate": "moderate", "Minor": "minor", "Unknown": "unknown"},
}  # fmt: skip

_LEVEL: dict[str, dict[str, str]] = {
    "lv": {"settlement_elder": "ciema vecākais", "municipality": "pašvaldības dežurants",
           "regional_duty_service": "reģionālais dežūrdienests"},
    "ru": {"settlement_elder": "староста населённого пункта", "municipality": "дежурный самоуправления",
           "regional_duty_service": "региональная дежурная служба"},
    "en": {"settlement_elder": "settlement elder", "municipality": "municipal duty officer",
           "regional_duty_service": "regional duty service"},
}  # fmt: skip

_TEXT: dict[str, dict[str, str]] = {
    "lv": {
        "code": "Vai atbildiet uz šo ziņu ar kodu {code}.",
        "subject": "Trauksme ({severity}): {title} — {area}",
        "greeting": "Labdien, {name}!",
        "body": "Saņemta {severity} trauksme: {title}.\nVieta: {area}\nSaņemta: {at} (UTC)\n"
        "Jūs saņemat šo ziņu kā {level}.",
        "ack": "Lai apstiprinātu, ka esat to saņēmis un rīkojaties, atveriet saiti:\n{link}\n"
        "Ja neapstiprināsiet, trauksme tiks nodota nākamajam atbildīgajam.",
    },
    "ru": {
        "code": "Или ответьте на это сообщение кодом {code}.",
        "subject": "Тревога ({severity}): {title} — {area}",
        "greeting": "Здравствуйте, {name}!",
        "body": "Получена тревога, степень: {severity}: {title}.\nМесто: {area}\nПолучена: {at} (UTC)\n"
        "Вы получили это сообщение как {level}.",
        "ack": "Чтобы подтвердить, что вы получили сообщение и действуете, откройте ссылку:\n{link}\n"
        "Без подтверждения тревога будет передана следующему ответственному.",
    },
    "en": {
        "code": "Or reply to this message with the code {code}.",
        "subject": "Alert ({severity}): {title} — {area}",
        "greeting": "Hello {name},",
        "body": "An alert was raised, severity {severity}: {title}.\nPlace: {area}\nReceived: {at} (UTC)\n"
        "You receive this message as the {level}.",
        "ack": "To acknowledge that you have it and are acting on it, open this link:\n{link}\n"
        "Without an acknowledgement the alert goes to the next person on the ladder.",
    },
}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str


def language_of(code: str) -> str:
    return code if code in LANGUAGES else "en"


def render(
    language: str,
    *,
    name: str,
    title: str,
    area: str,
    severity: str,
    level: str,
    received_at: datetime,
    link: str,
    drill: bool,
    code: str | None = None,
) -> Message:
    """The message a contact receives about an alert, in their language; a drill's first word says so."""
    lang = language_of(language)
    t = _TEXT[lang]
    values = {
        "name": name,
        "title": title,
        "area": area,
        "severity": _SEVERITY[lang].get(severity, severity),
        "level": _LEVEL[lang].get(level, level),
        "at": received_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        "link": link,
        "code": code or "",
    }
    subject = t["subject"].format(**values)
    parts = [t["greeting"].format(**values), t["body"].format(**values), t["ack"].format(**values)]
    if code:
        parts.append(t["code"].format(**values))
    text = "\n\n".join(parts)
    if drill:
        subject = f"{DRILL_WORD[lang]}: {subject}"
        text = f"{DRILL_WORD[lang]}. {text}"
    return Message(subject=subject, text=text)


# ---- the acknowledgement pages ---------------------------------------------------------------------------------------
PAGES: dict[str, dict[str, str]] = {
    "lv": {
        "confirm_title": "Apstiprināt trauksmi",
        "confirm": "Apstipriniet, ka esat saņēmis trauksmi un rīkojaties: {title} — {area}.",
        "button": "Apstiprinu",
        "done_title": "Apstiprināts",
        "done": "Paldies. Trauksme ir apstiprināta; tā vairs netiks nodota tālāk.",
        "forged": "Šī saite nav derīga. Izmantojiet saiti no saņemtās ziņas.",
        "expired": "Šīs saites derīguma termiņš ir beidzies. Apstipriniet trauksmi pa tālruni dežūrdienestam.",
        "used": "Šī saite jau ir izmantota.",
        "closed": "Šī trauksme jau ir apstiprināta vai slēgta; nekas netika mainīts.",
        "refused_title": "Saite netika pieņemta",
    },
    "ru": {
        "confirm_title": "Подтвердить тревогу",
        "confirm": "Подтвердите, что вы получили тревогу и действуете: {title} — {area}.",
        "button": "Подтверждаю",
        "done_title": "Подтверждено",
        "done": "Спасибо. Тревога подтверждена и больше не будет передаваться дальше.",
        "forged": "Эта ссылка недействительна. Используйте ссылку из полученного сообщения.",
        "expired": "Срок действия ссылки истёк. Подтвердите тревогу по телефону дежурной службе.",
        "used": "Эта ссылка уже использована.",
        "closed": "Эта тревога уже подтверждена или закрыта; ничего не изменено.",
        "refused_title": "Ссылка не принята",
    },
    "en": {
        "confirm_title": "Acknowledge the alert",
        "confirm": "Confirm that you have the alert and are acting on it: {title} — {area}.",
        "button": "Acknowledge",
        "done_title": "Acknowledged",
        "done": "Thank you. The alert is acknowledged; it will not escalate any further.",
        "forged": "This link is not valid. Use the link from the message you received.",
        "expired": "This link has expired. Acknowledge the alert by telephone to the duty service.",
        "used": "This link has already been used.",
        "closed": "This alert is already acknowledged or closed; nothing was changed.",
        "refused_title": "Link refused",
    },
}
