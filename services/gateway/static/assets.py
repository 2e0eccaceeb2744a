"""The chat page's files, read once at construction and answered from memory under `/chat`.

The page calls only the public REST API of its own origin, so a strict
Content-Security-Policy holds: no inline script or style, nothing from elsewhere.
Every file is revalidated on each load (`no-cache` with a strong ETag, so an unchanged
file costs a 304): the JS modules import each other by plain names, and a new version
must never meet a cached old one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]

PREFIX = "/chat"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_JS = "text/javascript; charset=utf-8"
# URL path under /chat -> (file in this directory, content type)
FILES: Mapping[str, tuple[str, str]] = {
    "": ("chat.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", _JS),
    "/api.js": ("api.js", _JS),
    "/view.js": ("view.js", _JS),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
    "/icon.svg": ("icon.svg", "image/svg+xml"),
}
_SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    # The token travels in the URL fragment, which browsers never send; this keeps
    # even the page's address out of other sites' logs.
    (b"referrer-policy", b"no-referrer"),
)
_NOT_FOUND = b'{"code":5,"message":"Not Found","details":[]}'
_NOT_ALLOWED = b'{"code":12,"message":"Method Not Allowed","details":[]}'


@dataclass(frozen=True)
class Asset:
    content_type: str
    body: bytes
    etag: bytes


class ChatPage:
    """Answers every request under `/chat` itself: none of them reaches the gRPC routes."""

    def __init__(self, directory: Path | None = None) -> None:
        root = directory or Path(__file__).parent
        self._assets: dict[str, Asset] = {}
        for suffix, (name, content_type) in FILES.items():
            body = (root / name).read_bytes()
            etag = b'"' + hashlib.sha256(body).hexdigest()[:24].encode() + b'"'
            self._assets[PREFIX + suffix] = Asset(content_type, body, etag)

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def __call__(self, scope: Mapping[str, Any], send: Send) -> None:
        asset = self._assets.get(scope["path"])
        method: str = scope["method"]
        if asset is None:
            await _status(send, 404, _NOT_FOUND)
        elif method not in ("GET", "HEAD"):
            await _status(send, 405, _NOT_ALLOWED, (b"allow", b"GET, HEAD"))
        elif _fresh(scope, asset.etag):
            await _answer(send, 304, asset, b"")
        else:
            await _answer(send, 200, asset, b"" if method == "HEAD" else asset.body)


def _fresh(scope: Mapping[str, Any], etag: bytes) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"if-none-match":
            tags = {tag.strip() for tag in value.split(b",")}
            return etag in tags or b"*" in tags
    return False


async def _answer(send: Send, status: int, asset: Asset, body: bytes) -> None:
    headers = [
        (b"content-type", asset.content_type.encode()),
        (b"cache-control", b"no-cache"),
        (b"etag", asset.etag),
        *_SECURITY_HEADERS,
    ]
    if status == 200:
        headers.append((b"content-length", str(len(asset.body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _status(send: Send, status: int, body: bytes, *extra: tuple[bytes, bytes]) -> None:
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
