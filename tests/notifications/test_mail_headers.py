"""A value from a person (a dossier's name in a subject, an address) cannot add a mail header (ASVS V1.3.11)."""

from __future__ import annotations

import email
from email import policy

from domain.settings import load_settings
from notifications.channels.email import Mail, build, valid_address

HOSTILE = "Hồ sơ của An\r\nBcc: evil@example.com\r\n\r\nGiả mạo"


def test_a_line_break_in_the_subject_adds_no_header() -> None:
    settings = load_settings({"MOTCUA_SMTP_HOST": "127.0.0.1", "MOTCUA_MAIL_FROM": "motcua@example.vn"}).notifications
    msg = build(settings, Mail(to="an@example.vn", subject=HOSTILE, text="Nội dung", message_id="m1", lang="vi"))
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None and parsed["To"] == "an@example.vn"
    assert parsed["Subject"] == "Hồ sơ của An Bcc: evil@example.com Giả mạo"
    assert parsed.get_content().strip() == "Nội dung"


def test_an_address_with_a_line_break_is_not_an_address() -> None:
    assert valid_address("an@example.vn")
    assert not valid_address("an@example.vn\r\nBcc: evil@example.com")
    assert not valid_address("an@example.vn, evil@example.com")
