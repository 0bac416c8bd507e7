"""The built web app's hashed assets (web/dist/assets): compressed, cached for a year, no maps.

Vite names every asset after a hash of its content, so a file under /assets/ never changes: it is
served with `Cache-Control: public, max-age=31536000, immutable`. The build writes a brotli and a
gzip copy beside each text asset (web/vite.config.ts, `precompress`); the copy the browser accepts
is sent as is (nothing is compressed per request), else the plain file. Source maps are written
for whoever debugs a build with the files at hand but are never served (404).
"""

from __future__ import annotations

import mimetypes
import os
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
# Preferred first: brotli is ~15% smaller than gzip on the app's JavaScript.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def accepted_encodings(header: str) -> set[str]:
    """Codings a browser accepts (`q=0` excluded): `gzip, deflate, br;q=1.0` -> {gzip, deflate, br}."""
    accepted = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = params.strip()
        if q.startswith("q="):
            try:
                if float(q[2:]) <= 0:
                    continue
            except ValueError:
                continue
        if name:
            accepted.add(name.strip().lower())
    return accepted


def is_source_map(path: str) -> bool:
    return path.endswith(".map")


class HashedAssets(StaticFiles):
    """StaticFiles for /assets: precompressed variants, immutable caching, source maps hidden."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        # The precompressed copies are reached through their asset's URL, never by their own.
        if is_source_map(path) or path.endswith((".br", ".gz")):
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", IMMUTABLE)
        return response

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        request_headers = Headers(scope=scope)
        accepted = accepted_encodings(request_headers.get("accept-encoding", ""))
        media_type = mimetypes.guess_type(str(full_path))[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type == "application/javascript":
            media_type += "; charset=utf-8"
        response: Response | None = None
        for coding, suffix in ENCODINGS:
            variant = f"{full_path}{suffix}"
            if coding in accepted and os.path.isfile(variant):
                response = FileResponse(
                    variant,
                    status_code=status_code,
                    media_type=media_type,
                    headers={"Content-Encoding": coding},
                )
                break
        if response is None:
            response = FileResponse(
                full_path, status_code=status_code, stat_result=stat_result, media_type=media_type
            )
        response.headers["Cache-Control"] = IMMUTABLE
        # Caches between us and the browser must keep one copy per coding.
        response.headers["Vary"] = "Accept-Encoding"
        if self.is_not_modified(response.headers, request_headers):
            return NotModifiedResponse(response.headers)
        return response
