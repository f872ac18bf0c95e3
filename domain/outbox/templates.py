"""Notification templates per event and language, with named placeholders (``templates.toml``).

Only plain ``{name}`` placeholders are allowed (no attribute, index or format spec), and every
language of an event must use the placeholders the event declares; :func:`load` checks all of it, so
a broken template fails at start-up and in the tests, not in a citizen's pocket.
"""

from __future__ import annotations

import functools
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from domain.errors import NotFound

DATA = Path(__file__).resolve().parent / "templates.toml"
LANGUAGES = ("vi", "en")
TEXT_FIELDS = ("label", "title", "body", "subject", "email", "sms")
URGENCIES = ("very-low", "low", "normal", "high")
AUDIENCES = ("citizen", "officer", "system")
OUTWARD = ("webpush", "email", "sms")
AUTOMATIC = ("link", "dossier_id")  # filled in by the sender, never by the event


class TemplateError(ValueError):
    """A template is malformed, or a value it needs is missing."""


class PreviewOut(msgspec.Struct, frozen=True):
    # a template rendered in one language; the API's preview returns it as is: its name is the OpenAPI
    # component's, its fields the JSON's
    event: str
    lang: str
    title: str
    body: str
    subject: str
    email: str
    sms: str
    url: str


@dataclass(frozen=True)
class Template:
    event: str
    audience: str
    urgency: str
    ttl: int
    url: str
    channels: tuple[str, ...]
    placeholders: tuple[str, ...]
    sample: dict[str, str]
    texts: dict[str, dict[str, str]] = field(repr=False)
    sensitive: bool = False

    def label(self, lang: str) -> str:
        return self.texts.get(lang, self.texts["vi"])["label"]

    def url_for(self, values: dict[str, Any]) -> str:
        """The page a tap opens; the inbox when the event names a dossier but none was given."""
        filled = {"dossier_id": "", **{k: "" if v is None else str(v) for k, v in values.items()}}
        if "{dossier_id}" in self.url and not filled["dossier_id"].isdigit():
            return "/thong-bao"
        return _fill(self.url, filled, self.event)

    def render(self, lang: str, values: dict[str, Any]) -> PreviewOut:
        texts = self.texts.get(lang) or self.texts["vi"]
        clean = {k: "" if v is None else str(v) for k, v in values.items()}
        missing = [name for name in self.placeholders if name not in clean]
        if missing:
            raise TemplateError(f"{self.event}: no value for {', '.join(missing)}")
        clean.setdefault("link", "")
        clean.setdefault("dossier_id", "")
        out = {name: _fill(texts[name], clean, self.event) for name in TEXT_FIELDS if name != "label"}
        return PreviewOut(event=self.event, lang=lang if lang in self.texts else "vi", url=self.url_for(clean), **out)


def placeholders_of(text: str) -> set[str]:
    names: set[str] = set()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(f"only plain {{name}} placeholders are allowed, not {{{name}{spec or ''}}}")
        names.add(name)
    return names


def _fill(text: str, values: dict[str, str], event: str) -> str:
    try:
        return text.format_map(values)
    except KeyError as exc:
        raise TemplateError(f"{event}: no value for {exc.args[0]}") from None


def parse(data: dict[str, Any]) -> dict[str, Template]:  # noqa: C901  (one check per key of a template)
    table: dict[str, Template] = {}
    for event, spec in data.items():
        if not isinstance(spec, dict):
            raise TemplateError(f"{event}: not a table")
        declared = tuple(spec.get("placeholders", ()))
        allowed = set(declared) | set(AUTOMATIC)
        texts: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            block = spec.get(lang)
            if not isinstance(block, dict):
                raise TemplateError(f"{event}: no {lang} texts")
            for name in TEXT_FIELDS:
                if not isinstance(block.get(name), str) or not block[name].strip():
                    raise TemplateError(f"{event}.{lang}: {name} is missing")
                unknown = placeholders_of(block[name]) - allowed
                if unknown:
                    raise TemplateError(f"{event}.{lang}.{name}: undeclared placeholder(s) {sorted(unknown)}")
            texts[lang] = {name: block[name] for name in TEXT_FIELDS}
        urgency = spec.get("urgency", "normal")
        audience = spec.get("audience", "citizen")
        channels = tuple(spec.get("channels", OUTWARD))
        sample = {str(k): str(v) for k, v in (spec.get("sample") or {}).items()}
        if urgency not in URGENCIES:
            raise TemplateError(f"{event}: urgency must be one of {URGENCIES}")
        if audience not in AUDIENCES:
            raise TemplateError(f"{event}: audience must be one of {AUDIENCES}")
        if not set(channels) <= set(OUTWARD):
            raise TemplateError(f"{event}: channels must be among {OUTWARD}")
        if set(declared) - set(sample):
            raise TemplateError(f"{event}: sample values missing for {sorted(set(declared) - set(sample))}")
        ttl = spec.get("ttl", 86400)
        if not isinstance(ttl, int) or not 0 <= ttl <= 28 * 86400:
            raise TemplateError(f"{event}: ttl must be 0..2419200 seconds")
        placeholders_of(spec.get("url", "/"))
        table[event] = Template(event=event, audience=audience, urgency=urgency, ttl=ttl,
                                url=spec.get("url", "/thong-bao"), channels=channels, placeholders=declared,
                                sample=sample, texts=texts, sensitive=bool(spec.get("sensitive", False)))
    return table


@functools.cache
def load(path: Path = DATA) -> dict[str, Template]:
    with path.open("rb") as fh:
        return parse(tomllib.load(fh))


def get(event: str) -> Template:
    try:
        return load()[event]
    except KeyError:
        raise TemplateError(f"no notification template for event {event!r}") from None


def events(audience: str | None = None) -> list[Template]:
    return [t for t in load().values() if audience is None or t.audience == audience]


def preview_request(event: str, params: Mapping[str, Any]) -> tuple[Template, dict[str, str]]:
    """An admin's preview request: the event's template (404 when there is none) and the values the query
    gives for its placeholders, each cut to 500 characters."""
    try:
        tpl = get(event)
    except TemplateError as exc:
        raise NotFound(str(exc)) from None
    return tpl, {k: str(v)[:500] for k, v in params.items() if k in tpl.placeholders}


def preview(event: str, lang: str, values: dict[str, str] | None = None, *, public_url: str = "") -> PreviewOut:
    """What the admins see: the template filled with its sample values (or theirs)."""
    tpl = get(event)
    merged = {**tpl.sample, **{k: v for k, v in (values or {}).items() if k in tpl.placeholders}}
    url = _fill(tpl.url, {"dossier_id": merged.get("dossier_id", "1"), "link": ""}, event)
    return tpl.render(lang, {**merged, "link": public_url + url})
