"""E-mail over SMTP (``aiosmtplib``): any relay, STARTTLS or implicit TLS, authentication, all from settings.

``send`` answers ``None`` when the relay accepted the message (its 250 after the data), else a short machine code
of why not (no address, no server text: they would carry personal data into the attempts table and the events).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import ssl
import time
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any

import aiosmtplib

from lsg_alerts.settings import AlertsSettings

log = logging.getLogger(__name__)


def _header_text(value: str) -> str:
    """A header's text: as it is when ASCII, else one RFC 2047 encoded word (UTF-8, base64). One word, not
    several: CPython's folding of a long non-ASCII subject into several encoded words dropped the space between
    them (decoders ignore whitespace between adjacent encoded words). Line breaks and other control characters
    (a partner's headline may carry them) become spaces: no header can be injected."""
    value = "".join(ch if ch.isprintable() else " " for ch in value)
    if value.isascii():
        return value
    return "=?utf-8?b?" + base64.b64encode(value.encode()).decode() + "?="


def _address(value: str) -> str:
    name, address = parseaddr("".join(ch if ch.isprintable() else " " for ch in value))
    return formataddr((name, address), charset="utf-8") if name else address


def compose(sender: str, to: str, subject: str, text: str, language: str) -> bytes:
    """The message as it goes on the wire: a plain-text UTF-8 body (base64), CRLF lines.

    Written out directly rather than through ``email.message.EmailMessage``: its header registry parsed and
    re-folded every header of every message, a third of the sender's CPU at 200 messages/s (py-spy)."""
    body = base64.encodebytes(text.replace("\r\n", "\n").replace("\n", "\r\n").encode()).decode()
    headers = (
        f"From: {_address(sender)}",
        f"To: {_address(to)}",
        f"Subject: {_header_text(subject)}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {make_msgid(domain='lsg-events.lv')}",
        f"Content-Language: {language}",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
    )
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


class EmailChannel:
    """Sends over a few kept-open connections to the relay (one per concurrent sender, at most ``_KEEP`` idle):
    a message no longer pays for a TCP (and TLS) handshake, EHLO and authentication of its own. A connection
    idle for more than ``_PROBE_AFTER_S`` is checked with NOOP before it is used again; one that fails is
    dropped, never retried inside ``send`` (the attempt is recorded as failed and retried by the sender)."""

    _KEEP = 16
    _PROBE_AFTER_S = 5.0
    _MESSAGES_PER_CONNECTION = 100  # relays limit messages per session; start a new one well before

    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings
        self._idle: list[tuple[aiosmtplib.SMTP, float, int]] = []  # (connection, last used, messages sent)

    def __repr__(self) -> str:
        return f"EmailChannel({self.settings.smtp_host}:{self.settings.smtp_port})"

    def _new(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls and not s.smtp_tls,
            use_tls=s.smtp_tls,
            timeout=s.smtp_timeout_s,
            tls_context=ssl.create_default_context() if (s.smtp_starttls or s.smtp_tls) else None,
        )

    async def _connection(self) -> tuple[aiosmtplib.SMTP, int]:
        while self._idle:
            smtp, used, count = self._idle.pop()
            if not smtp.is_connected:
                continue
            if time.monotonic() - used > self._PROBE_AFTER_S:
                try:
                    await smtp.noop()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()
                    continue
            return smtp, count
        smtp = self._new()
        await smtp.connect()  # EHLO, STARTTLS and AUTH as configured
        return smtp, 0

    async def _release(self, smtp: aiosmtplib.SMTP, count: int) -> None:
        if count < self._MESSAGES_PER_CONNECTION and len(self._idle) < self._KEEP and smtp.is_connected:
            self._idle.append((smtp, time.monotonic(), count))
            return
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await smtp.quit()
        smtp.close()

    async def close(self) -> None:
        """Say QUIT on every kept connection (the app's shutdown)."""
        while self._idle:
            await self._release(self._idle.pop()[0], self._MESSAGES_PER_CONNECTION)

    async def send(
        self, spec: dict[str, str], subject: str, text: str, language: str, payload: dict[str, Any]
    ) -> str | None:
        s = self.settings
        to = spec.get("address", "")
        data = compose(s.smtp_from, to, subject, text, language)
        smtp: aiosmtplib.SMTP | None = None
        try:
            smtp, count = await self._connection()
            await smtp.sendmail(parseaddr(s.smtp_from)[1], [to], data)
        except aiosmtplib.SMTPRecipientsRefused:
            reason = "refused"
        except aiosmtplib.SMTPAuthenticationError:
            reason = "authentication"
        except aiosmtplib.SMTPResponseException as exc:
            reason = "rejected" if exc.code >= 500 else "deferred"
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):  # before OSError, whose subclass it is
            reason = "timeout"
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError):
            reason = "connection"
        except aiosmtplib.SMTPException as exc:
            log.warning("smtp: %s", type(exc).__name__)
            reason = "smtp"
        else:
            await self._release(smtp, count + 1)
            return None
        if smtp is not None:  # a session that failed is not reused (its state is unknown)
            smtp.close()
        return reason
