"""E-mail over SMTP (``aiosmtplib``): any relay, STARTTLS or implicit TLS, authentication, all from settings.

``send`` answers ``None`` when the relay accepted the message, else a short machine code of why not (no
address, no server text: they would carry personal data into the attempts table and the events).
"""

from __future__ import annotations

import email.policy
import logging
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

import aiosmtplib

from lsg_alerts.settings import AlertsSettings

log = logging.getLogger(__name__)
# Unfolded headers: CPython's folding of a long non-ASCII subject into several encoded words drops the space
# between them (decoders ignore whitespace between adjacent encoded words); one encoded word keeps it.
_POLICY = email.policy.SMTP.clone(max_line_length=998)


class EmailChannel:
    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"EmailChannel({self.settings.smtp_host}:{self.settings.smtp_port})"

    async def send(
        self, spec: dict[str, str], subject: str, text: str, language: str, payload: dict[str, Any]
    ) -> str | None:
        s = self.settings
        to = spec.get("address", "")
        msg = EmailMessage(policy=_POLICY)
        msg["From"] = s.smtp_from
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain="lsg-events.lv")
        msg["Content-Language"] = language
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(text)
        try:
            # Flattened here: aiosmtplib would flatten with its own policy, folding the subject again.
            await aiosmtplib.send(
                msg.as_bytes(policy=_POLICY),
                sender=parseaddr(s.smtp_from)[1],
                recipients=[to],
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                start_tls=s.smtp_starttls and not s.smtp_tls,
                use_tls=s.smtp_tls,
                timeout=s.smtp_timeout_s,
                tls_context=ssl.create_default_context() if (s.smtp_starttls or s.smtp_tls) else None,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            return "refused"
        except aiosmtplib.SMTPAuthenticationError:
            return "authentication"
        except aiosmtplib.SMTPResponseException as exc:
            return "rejected" if exc.code >= 500 else "deferred"
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):  # before OSError, whose subclass it is
            return "timeout"
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError):
            return "connection"
        except aiosmtplib.SMTPException as exc:
            log.warning("smtp: %s", type(exc).__name__)
            return "smtp"
        return None
