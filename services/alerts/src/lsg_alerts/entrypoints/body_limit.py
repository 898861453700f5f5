"""One answer for an oversize body, whichever limit was hit: 413 ``too-large`` with ``errors[]`` (docs/partners.md).

Partner documents (the two partner doors and the CAP validator) may be at most ``partner_max_bytes`` (64 KiB);
every other body at most ``max_body_bytes`` (1 MiB). This middleware sits outside the shared
``lsg_shared.http.BodyLimitMiddleware`` with limits no larger than its, so the shared one (which answers
``payload-too-large`` without ``errors[]``) never fires here. A declared Content-Length is checked before the
route runs; a chunked body is counted as it arrives.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lsg_shared.problems import MEDIA_TYPE, TYPE_BASE

_PARTNER_DOCUMENTS = ("/alerts", "/heartbeats")


class _TooLarge(Exception):
    pass


def is_partner_document(path: str) -> bool:
    """The partner doors (``/v1/partners/{id}/alerts|heartbeats``) and the CAP validator."""
    if path == "/v1/cap/validate":
        return True
    return path.startswith("/v1/partners/") and path.endswith(_PARTNER_DOCUMENTS) and path.count("/") == 4


def too_large_body(limit: int, path: str) -> bytes:
    return json.dumps(
        {
            "type": TYPE_BASE + "too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"The body is larger than {limit} bytes.",
            "instance": path.encode("utf-8", "replace").decode("utf-8"),
            "errors": [{"field": "body", "message": f"is larger than {limit} bytes"}],
        }
    ).encode()


class DocumentedBodyLimit:
    def __init__(self, app: ASGIApp, *, partner_max_bytes: int, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Never above the shared limit behind this one (its answer would be the other form).
        self.partner_max_bytes = min(partner_max_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.partner_max_bytes if is_partner_document(path) else self.max_bytes
        declared = chunked = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit():
                if int(value) > limit:
                    await self._answer(send, limit, path)
                    return
                declared = True
            elif name == b"transfer-encoding":
                chunked = True
        if declared and not chunked:
            # The HTTP server frames the body by the declared length: no more bytes than that can arrive.
            await self.app(scope, receive, send)
            return
        received = 0
        started = replaced = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started, replaced
            if replaced:
                return  # the app's own answer to the failed read (FastAPI's 400 "error parsing the body")
            if message["type"] == "http.response.start":
                started = True
                if received > limit:
                    replaced = True
                    await self._answer(send, limit, path)
                    return
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._answer(send, limit, path)
        except Exception:
            if received > limit and not started:
                await self._answer(send, limit, path)
            else:
                raise

    @staticmethod
    async def _answer(send: Send, limit: int, path: str) -> None:
        body = too_large_body(limit, path)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
