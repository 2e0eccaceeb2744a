"""The chat page's files, read once and answered from memory under `/chat`.

The page calls only the public REST API of the same origin, so a strict
Content-Security-Policy holds: no inline script or style, nothing from elsewhere. The
CSS and JS are linked with a content hash in the query, so they can be cached for a
year while the HTML is revalidated on every load; an upgrade is seen at once.
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
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_PAGE_CACHE = "no-cache"
_ASSET_CACHE = "public, max-age=31536000, immutable"

_SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    # The token travels in the URL fragment, which browsers never send; this keeps
    # even the page's path out of other sites' logs.
    (b"referrer-policy", b"no-referrer"),
)


@dataclass(frozen=True)
class Asset:
    content_type: str
    body: bytes
    cache_control: str
    etag: str


def _asset(content_type: str, body: bytes, cache_control: str) -> Asset:
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(content_type, body, cache_control, etag)


def _version(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:12]


class ChatPage:
    """Answers every request under `/chat` itself: none of them reaches the gRPC routes."""

    def __init__(self, directory: Path | None = None) -> None:
        root = directory or Path(__file__).parent
        script = (root / "app.js").read_bytes()
        style = (root / "app.css").read_bytes()
        icon = (root / "icon.svg").read_bytes()
        page = (
            (root / "chat.html")
            .read_bytes()
            .replace(b"{{script_version}}", _version(script).encode())
            .replace(b"{{style_version}}", _version(style).encode())
            .replace(b"{{icon_version}}", _version(icon).encode())
        )
        self._assets: Mapping[str, Asset] = {
            PREFIX: _asset("text/html; charset=utf-8", page, _PAGE_CACHE),
            f"{PREFIX}/app.js": _asset("text/javascript; charset=utf-8", script, _ASSET_CACHE),
            f"{PREFIX}/app.css": _asset("text/css; charset=utf-8", style, _ASSET_CACHE),
            f"{PREFIX}/icon.svg": _asset("image/svg+xml", icon, _ASSET_CACHE),
        }

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def __call__(self, scope: Mapping[str, Any], send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        asset = self._assets.get(path)
        if asset is None:
            await _plain(send, 404, b'{"code":5,"message":"Not Found","details":[]}')
            return
        if method not in ("GET", "HEAD"):
            await _plain(
                send,
                405,
                b'{"code":12,"message":"Method Not Allowed","details":[]}',
                [(b"allow", b"GET, HEAD")],
            )
            return
        headers = [
            (b"content-type", asset.content_type.encode()),
            (b"cache-control", asset.cache_control.encode()),
            (b"etag", asset.etag.encode()),
            *_SECURITY_HEADERS,
        ]
        if _matches(scope, asset.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(asset.body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else asset.body})


def _matches(scope: Mapping[str, Any], etag: str) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"if-none-match":
            tags = {t.strip() for t in value.decode("latin-1").split(",")}
            return etag in tags or "*" in tags
    return False


async def _plain(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
