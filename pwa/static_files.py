"""Static files served from memory, pre-compressed once (brotli and gzip), cached for a year.

URLs carry ``?v=<hash of all static files>``, so a new release is a new URL; the service worker is
served at ``/sw.js`` (scope ``/``) with the same hash written into its cache name and no long cache.
"""

from __future__ import annotations

import functools
import gzip
import mimetypes
from dataclasses import dataclass
from typing import Any

import brotli
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

from pwa.render import STATIC, static_version

TYPES = {".js": "text/javascript", ".css": "text/css",  # Litestar adds the charset to text/*
         ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml", ".png": "image/png",
         ".ico": "image/x-icon", ".md": "text/plain"}
COMPRESSIBLE = (".js", ".css", ".webmanifest", ".svg", ".ico")


@dataclass(frozen=True)
class Asset:
    content_type: str
    plain: bytes
    br: bytes | None
    gz: bytes | None
    etag: str


@functools.cache
def assets() -> dict[str, Asset]:
    table: dict[str, Asset] = {}
    version = static_version()
    for path in sorted(STATIC.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        rel = path.relative_to(STATIC).as_posix()
        data = path.read_bytes()
        if rel == "sw.js":
            data = data.replace(b"__VERSION__", version.encode())
        kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        squeeze = path.suffix in COMPRESSIBLE and len(data) > 256
        table[rel] = Asset(
            content_type=kind, plain=data,
            br=brotli.compress(data, quality=11) if squeeze else None,
            gz=gzip.compress(data, 9, mtime=0) if squeeze else None,
            etag=f'"{version}-{len(data)}"',
        )
    return table


def asset_response(request: Request[Any, Any, Any], rel: str, cache: str) -> Response[bytes]:
    asset = assets().get(rel)
    if asset is None:
        raise NotFoundException(f"no static file {rel!r}")
    headers = {"Cache-Control": cache, "ETag": asset.etag, "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=304, headers=headers)
    accept = request.headers.get("accept-encoding", "")
    body = asset.plain
    if asset.br is not None and "br" in accept:
        body, headers["Content-Encoding"] = asset.br, "br"
    elif asset.gz is not None and "gzip" in accept:
        body, headers["Content-Encoding"] = asset.gz, "gzip"
    return Response(body, media_type=asset.content_type, headers=headers)


@get("/static/{rel:path}", include_in_schema=False, sync_to_thread=False)
def static(request: Request[Any, Any, Any], rel: str) -> Response[bytes]:
    cache = "public, max-age=31536000, immutable" if request.query_params.get("v") else "public, max-age=3600"
    return asset_response(request, rel.lstrip("/"), cache)


@get("/sw.js", include_in_schema=False, sync_to_thread=False)
def service_worker(request: Request[Any, Any, Any]) -> Response[bytes]:
    return asset_response(request, "sw.js", "no-cache")


@get("/manifest.webmanifest", include_in_schema=False, sync_to_thread=False)
def manifest(request: Request[Any, Any, Any]) -> Response[bytes]:
    return asset_response(request, "manifest.webmanifest", "public, max-age=86400")


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon(request: Request[Any, Any, Any]) -> Response[bytes]:
    return asset_response(request, "icons/favicon.ico", "public, max-age=86400")


ROUTES = [static, service_worker, manifest, favicon]
