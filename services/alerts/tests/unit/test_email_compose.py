"""The e-mail as written on the wire: parsed back with the standard library, headers and body survive in every
language, and a headline carrying line breaks cannot inject a header."""

from __future__ import annotations

import email
import email.policy

import pytest

from lsg_alerts.adapters.email import compose

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("Trauksme (ārkārtēja): Ugunsgrēks — Nirza", "Labdien, Jānis Bērziņš!\n\nSaite:\nhttps://x.lv/v1/ack/abc"),
        ("Тревога (чрезвычайная): Пожар в деревне с длинным названием — Нирза" * 2, "Здравствуйте!\nКод K7QX3M."),
        ("Alert (extreme): Fire alarm — Village", "Hello Elder,\n\nOr reply with the code K7QX3M."),
    ],
)
def test_composed_message_parses_back(subject: str, text: str) -> None:
    raw = compose("LSG Events <alerts@lsg-events.lv>", "elder@example.lv", subject, text, "lv")
    assert b"\r\n\r\n" in raw
    assert raw.isascii()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(message["Subject"]) == subject
    assert message["To"] == "elder@example.lv"
    assert message["From"].addresses[0].addr_spec == "alerts@lsg-events.lv"
    assert message["Content-Language"] == "lv"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content().replace("\r\n", "\n") == text


def test_a_headline_with_line_breaks_injects_no_header() -> None:
    raw = compose("alerts@lsg-events.lv", "elder@example.lv", "Fire\r\nBcc: victim@example.org", "x", "en")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Bcc"] is None
    assert str(message["Subject"]) == "Fire  Bcc: victim@example.org"
