"""Issue 26's plain rules: who is on call (hand-overs, overrides), what follows a failed attempt, backoff, the
signed acknowledgement link, and the message in each language (drills say so first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from lsg_alerts.domain import notify

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
A, B, C, D = uuid4(), uuid4(), uuid4(), uuid4()
ROTA = notify.Rota(starts_at=T0, shift_s=12 * 3600, members=[A, B, C])


def test_the_rota_hands_over_at_each_shift_and_wraps_around() -> None:
    assert notify.on_call(ROTA, [], T0 - timedelta(seconds=1)) == []
    assert notify.on_call(ROTA, [], T0) == [A, B, C]
    assert notify.on_call(ROTA, [], T0 + timedelta(hours=11, minutes=59)) == [A, B, C]
    assert notify.on_call(ROTA, [], T0 + timedelta(hours=12)) == [B, C, A]
    assert notify.on_call(ROTA, [], T0 + timedelta(hours=36)) == [A, B, C]


def test_an_override_holds_the_rota_for_its_span_only() -> None:
    cover = [notify.Override(contact_id=D, starts_at=T0 + timedelta(hours=1), ends_at=T0 + timedelta(hours=3))]
    assert notify.on_call(ROTA, cover, T0) == [A, B, C]
    assert notify.on_call(ROTA, cover, T0 + timedelta(hours=2)) == [D, A, B, C]
    assert notify.on_call(ROTA, cover, T0 + timedelta(hours=3)) == [A, B, C]
    # A member covering does not appear twice.
    self_cover = [notify.Override(contact_id=B, starts_at=T0, ends_at=T0 + timedelta(hours=1))]
    assert notify.on_call(ROTA, self_cover, T0) == [B, A, C]


def test_after_a_failure_retry_then_next_channel_then_next_person_then_give_up() -> None:
    assert notify.after_failure(1, 3, 0, 2, 0, 2) is notify.Next.RETRY
    assert notify.after_failure(3, 3, 0, 2, 0, 2) is notify.Next.NEXT_CHANNEL
    assert notify.after_failure(3, 3, 1, 2, 0, 2) is notify.Next.NEXT_CONTACT
    assert notify.after_failure(3, 3, 1, 2, 1, 2) is notify.Next.GAVE_UP


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [notify.backoff_s(n, 5, 60) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


def test_links_open_only_when_signed_by_the_key_and_unexpired() -> None:
    key, nid = b"k" * 32, uuid4()
    token = notify.sign_link(key, nid, T0 + timedelta(hours=1))
    assert notify.open_link(key, token, T0) == nid
    assert notify.open_link(key, token, T0 + timedelta(hours=1)) is notify.LinkProblem.EXPIRED
    assert notify.open_link(b"x" * 32, token, T0) is notify.LinkProblem.FORGED
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    for bad in (flipped, "", "!!", "a" * 500, token + "AA"):
        assert notify.open_link(key, bad, T0) is notify.LinkProblem.FORGED


@pytest.mark.parametrize(
    ("language", "subject", "greeting", "drill"),
    [
        ("lv", "Trauksme (ārkārtēja): Plūdi — Nirza", "Labdien, Anna!", "MĀCĪBAS"),
        ("ru", "Тревога (чрезвычайная): Plūdi — Nirza", "Здравствуйте, Anna!", "УЧЕНИЯ"),
        ("en", "Alert (extreme): Plūdi — Nirza", "Hello Anna,", "DRILL"),
    ],
)
def test_messages_speak_the_contacts_language_and_drills_say_so_first(
    language: str, subject: str, greeting: str, drill: str
) -> None:
    values = {
        "name": "Anna",
        "title": "Plūdi",
        "area": "Nirza",
        "severity": "Extreme",
        "level": "settlement_elder",
        "received_at": T0,
        "link": "https://alerts.example.lv/v1/ack/t",
    }
    real = notify.render(language, drill=False, **values)  # type: ignore[arg-type]
    assert real.subject == subject
    assert real.text.startswith(greeting)
    assert "https://alerts.example.lv/v1/ack/t" in real.text
    practice = notify.render(language, drill=True, **values)  # type: ignore[arg-type]
    assert practice.subject.startswith(drill)
    assert practice.text.startswith(drill)


def test_reply_codes_are_short_unambiguous_and_read_from_the_first_word() -> None:
    codes = {notify.new_reply_code() for _ in range(200)}
    assert len(codes) > 190  # random
    for code in codes:
        assert len(code) == notify.REPLY_CODE_LENGTH
        assert not set(code) & set("0O1IL2Z5S8B")
        assert notify.reply_code_in(code) == code
        assert notify.reply_code_in(f"  {code.lower()}. paldies, braucu") == code
        assert notify.reply_code_in(f"'{code}'") == code
    assert notify.reply_code_in("") is None
    assert notify.reply_code_in("labi") is None
    assert notify.reply_code_in("K7QX3M7") is None  # too long
    assert notify.reply_code_in("K0QX3M") is None  # 0 is not in the alphabet
    assert notify.reply_code_in("sveiki K7QX3M") is None  # the code must come first


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("lv", "Vai atbildiet uz šo ziņu ar kodu K7QX3M."),
        ("ru", "Или ответьте на это сообщение кодом K7QX3M."),
        ("en", "Or reply to this message with the code K7QX3M."),
    ],
)
def test_every_message_carries_its_reply_code_in_the_contacts_language(language: str, line: str) -> None:
    message = notify.render(
        language,
        name="X",
        title="Fire",
        area="Nirza",
        severity="Extreme",
        level="settlement_elder",
        received_at=T0,
        link="https://alerts.example.lv/v1/ack/t",
        drill=False,
        code="K7QX3M",
    )
    assert message.text.endswith(line)
