"""Static checks of the PWA assets (manifest, icons, vendored htmx, service worker); no browser needed."""

from __future__ import annotations

import hashlib
import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "pwa" / "static"
SW = STATIC / "sw.js"
MANIFEST = STATIC / "manifest.webmanifest"
HTMX = STATIC / "htmx.min.js"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def static_file(url: str) -> Path:
    assert url.startswith("/static/"), url
    return STATIC / url.removeprefix("/static/")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    length, kind = struct.unpack(">I4s", head[8:16])
    assert kind == b"IHDR" and length == 13, f"{path.name}: first chunk is not IHDR"
    return struct.unpack(">II", head[16:24])


def manifest() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return body


def sw_shell() -> list[str]:
    """Precached paths (the ``?v=`` query the worker appends to /static/ entries left out)."""
    m = re.search(r"^const SHELL = (.*?);$", SW.read_text(encoding="utf-8"), re.S | re.M)
    assert m, "sw.js has no SHELL list"
    return re.findall(r'"(/[^"?]*)"', m.group(1))


def test_manifest_required_keys() -> None:
    m = manifest()
    assert m["name"] == "Dịch vụ công trực tuyến — Một cửa"
    assert m["short_name"] == "Một cửa"
    assert m["description"].strip()
    assert m["lang"] == "vi"
    assert m["start_url"] == "/?source=pwa"
    assert m["scope"] == "/"
    assert m["display"] == "standalone"
    assert m["background_color"] == "#ffffff"
    assert m["theme_color"] == "#9b1c1c"
    purposes = {(i["sizes"], i["purpose"]) for i in m["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes


@pytest.mark.parametrize("icon", manifest()["icons"], ids=lambda i: i["src"])
def test_manifest_icon_exists_with_declared_size(icon: dict[str, Any]) -> None:
    path = static_file(icon["src"])
    assert path.is_file(), icon["src"]
    assert icon["type"] == "image/png"
    width, height = (int(n) for n in icon["sizes"].split("x"))
    assert png_size(path) == (width, height)


def test_apple_touch_icon_is_180() -> None:
    assert png_size(STATIC / "icons" / "apple-touch-icon.png") == (180, 180)


def test_favicon_ico_has_32px_image() -> None:
    data = (STATIC / "icons" / "favicon.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count >= 1
    sizes = set()
    for n in range(count):
        w, h = struct.unpack("<BB", data[6 + 16 * n : 8 + 16 * n])
        sizes.add((w or 256, h or 256))
    assert (32, 32) in sizes


def test_htmx_is_vendored_2x() -> None:
    first, _, body = HTMX.read_bytes().partition(b"\n")
    m = re.match(rb"/\* htmx\.org@(2\.0\.\d+) vendored .*\*/$", first)
    assert m, f"htmx.min.js must start with a /* htmx.org@2.0.x vendored ... */ marker, got {first[:80]!r}"
    version = m.group(1).decode()
    assert f'version:"{version}"'.encode() in body, "marker and embedded htmx version disagree"
    notes = (STATIC / "VENDORED.md").read_text(encoding="utf-8")
    assert version in notes
    assert hashlib.sha256(body).hexdigest() in notes, "upstream sha256 in VENDORED.md does not match"


def test_sw_version_placeholder_and_shell() -> None:
    text = SW.read_text(encoding="utf-8")
    assert 'const VERSION = "__VERSION__";' in text
    shell = sw_shell()
    # what an offline visit needs; htmx (loaded on first use by the catalogue), the manifest and the
    # icons are cached when first fetched, so a phone's first load does not download them
    assert sorted(shell) == ["/", "/offline", "/static/app.css", "/static/app.js"]
    assert '"?v=" + VERSION' in text, "static shell must be precached under the URLs pages use"
    assert "SKIP_WAITING" in text
    for private in ("tai-khoan", "ho-so", "can-bo", "auth"):
        assert private in text


@pytest.mark.parametrize("url", [u for u in sw_shell() if u.startswith("/static/")])
def test_precached_static_file_exists(url: str) -> None:
    # cache.addAll() rejects on any 404, and then the service worker never installs.
    assert static_file(url).is_file(), url


def test_offline_template() -> None:
    text = (ROOT / "pwa" / "templates" / "offline.html").read_text(encoding="utf-8")
    assert text.lstrip().startswith('{% extends "base.html" %}')
    assert "{% block title %}" in text and "{% block content %}" in text
    assert '_("Bạn đang ngoại tuyến")' in text
    assert '_("Về trang chủ")' in text
    assert 'href="/"' in text
