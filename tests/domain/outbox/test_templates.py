"""Notification templates: every event in both languages, only declared named placeholders, sample
values for the preview, plain and short enough where it matters; a broken template is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.dossiers.effects import DOSSIER_EVENTS, OFFICER_EVENTS
from domain.outbox import templates
from domain.outbox.enqueue import display, money
from domain.outbox.templates import TemplateError, parse, placeholders_of

ALL = sorted(templates.load())
VIETNAMESE = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.I)


def test_every_workflow_event_has_a_template() -> None:
    for name in (*DOSSIER_EVENTS.values(), *OFFICER_EVENTS.values(), "payment.succeeded", "payment.failed",
                 "officer.reminder", "code.email", "code.phone"):
        assert name in ALL


@pytest.mark.parametrize("event", ALL)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_renders_with_its_sample_values(event: str, lang: str) -> None:
    tpl = templates.get(event)
    r = templates.preview(event, lang, public_url="https://dichvucong.example.gov.vn")
    for text in (r.title, r.body, r.subject, r.email, r.sms):
        assert text.strip() and "{" not in text and "}" not in text
    for name in tpl.placeholders:  # every declared value shows somewhere
        assert any(tpl.sample[name] in t for t in (r.title, r.body, r.email, r.sms)), name
    assert r.url.startswith("/") and "{" not in r.url
    assert len(r.title) <= 80


@pytest.mark.parametrize("event", ALL)
def test_vietnamese_is_the_source_and_sms_fits(event: str) -> None:
    tpl = templates.get(event)
    vi, en = tpl.texts["vi"], tpl.texts["en"]
    assert VIETNAMESE.search(vi["body"] + vi["title"]), "the Vietnamese texts are Vietnamese"
    assert vi["body"] != en["body"]
    for lang in ("vi", "en"):
        sms = tpl.render(lang, tpl.sample).sms
        assert len(sms) <= 160, (lang, sms)
    assert vi["sms"].isascii(), "SMS in Vietnamese without diacritics (one 160-character part)"


def test_same_placeholders_in_both_languages() -> None:
    for tpl in templates.events():
        for field in ("title", "body", "email"):
            assert placeholders_of(tpl.texts["vi"][field]) == placeholders_of(tpl.texts["en"][field]), \
                (tpl.event, field)


def test_missing_value_is_an_error_not_a_hole() -> None:
    with pytest.raises(TemplateError, match="reason"):
        templates.get("dossier.refused").render("vi", {"dossier_code": "X", "procedure_name": "Y"})


def test_user_values_are_not_format_strings() -> None:
    r = templates.get("dossier.refused").render("vi", {"dossier_code": "{dossier_code}", "procedure_name": "P",
                                                      "reason": "{0.__class__}"})
    assert "{0.__class__}" in r.body


@pytest.mark.parametrize("text", ["{x.y}", "{x[0]}", "{x!r}", "{x:>10}", "{}"])
def test_only_plain_named_placeholders(text: str) -> None:
    with pytest.raises(TemplateError):
        placeholders_of(text)


def base_spec() -> dict[str, Any]:
    texts = {name: "Hồ sơ {dossier_code}" for name in templates.TEXT_FIELDS}
    return {"e": {"placeholders": ["dossier_code"], "sample": {"dossier_code": "A"}, "vi": dict(texts),
                  "en": dict(texts)}}


def test_parse_refuses_broken_templates() -> None:
    assert "e" in parse(base_spec())
    spec = base_spec()
    spec["e"]["vi"]["body"] = "{undeclared}"
    with pytest.raises(TemplateError, match="undeclared"):
        parse(spec)
    spec = base_spec()
    del spec["e"]["en"]
    with pytest.raises(TemplateError, match="en"):
        parse(spec)
    spec = base_spec()
    spec["e"]["urgency"] = "urgent"
    with pytest.raises(TemplateError, match="urgency"):
        parse(spec)
    spec = base_spec()
    spec["e"]["sample"] = {}
    with pytest.raises(TemplateError, match="sample"):
        parse(spec)


def test_preview_takes_the_admins_values() -> None:
    r = templates.preview("dossier.received", "vi", {"dossier_code": "H56-1", "ignored": "x"})
    assert "H56-1" in r.title and "x" not in r.title


def test_display_formats() -> None:
    assert display(datetime(2026, 2, 17, 20, 0, tzinfo=UTC)) == "18/02/2026"  # Vietnam time
    assert display(None) == "—" and display("  a \n b ") == "a b"
    assert money(1250000) == "1.250.000\u00a0₫"
