"""E-mail over SMTP (``MOTCUA_SMTP_*``), plain text, one message per delivery.

The Message-ID is fixed per delivery, so a message sent again after a worker was killed mid-send is
recognisably the same one (mail clients and servers de-duplicate by it). SMTP answers map to results:
2xx delivered; 4xx and connection problems retry; 5xx about the recipient is a permanent failure;
a refused login is a technical failure (our configuration).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from domain.settings import NotifySettings
from notifications.channels import DELIVERED, PERMANENT, RETRY, TECHNICAL, Result


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    message_id: str  # unique per delivery; the same on every try
    lang: str


def build(settings: NotifySettings, mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = mail.to
    msg["Subject"] = " ".join(mail.subject.split())[:200]
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >") or "localhost"
    msg["Message-ID"] = f"<{mail.message_id}@{domain}>"
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    msg["Content-Language"] = mail.lang  # after set_content, which resets the Content-* headers
    return msg


def valid_address(address: str) -> bool:
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return "@" in address and len(address) <= 254


def send_sync(settings: NotifySettings, mail: Mail) -> Result:
    """Send one message (blocking; the worker runs it on a thread). Bounded by the SMTP timeout."""
    if not settings.email_enabled:
        return Result(TECHNICAL, "no SMTP server is configured (MOTCUA_SMTP_HOST)")
    if not valid_address(mail.to):
        return Result(PERMANENT, f"not a valid e-mail address: {mail.to!r}")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(build(settings, mail))
    except smtplib.SMTPAuthenticationError as exc:
        return Result(TECHNICAL, f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}")
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()), (0, b""))
        return _by_code(code, f"recipient refused: {code} {text!r}")
    except smtplib.SMTPResponseException as exc:
        return _by_code(exc.smtp_code, f"SMTP {exc.smtp_code} {exc.smtp_error!r}")
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        return Result(RETRY, f"SMTP connection failed: {type(exc).__name__}: {exc}")
    if refused:
        code, text = next(iter(refused.values()))
        return _by_code(code, f"recipient refused: {code} {text!r}")
    return Result(DELIVERED, "accepted by the SMTP server", http_status=None)


def _by_code(code: int, detail: str) -> Result:
    if 400 <= code < 500:
        return Result(RETRY, detail)
    return Result(PERMANENT, detail)
