"""Local stand-ins for the chat services' incoming webhooks, speaking their documented APIs.

- Slack incoming webhook (``POST /services/T../B../secret``): a JSON body with ``text`` or
  ``blocks``; answers 200 ``ok`` (text/plain), 400 ``invalid_payload`` / ``no_text``.
- Microsoft Teams Workflows webhook: ``{"type": "message", "attachments": [...]}`` with an
  Adaptive Card; answers 202 Accepted, 400 for another body.
- Google Chat space webhook (``POST /v1/spaces/{space}/messages?key=&token=``): JSON with
  ``text`` or ``cardsV2``; answers 200 with the created Message resource, 400 with a
  Google error object otherwise.

- Slack Web API ``POST /api/chat.postMessage`` with ``Authorization: Bearer <bot token>``:
  answers HTTP 200 either way, ``{"ok": true, "channel", "ts", "message"}`` or
  ``{"ok": false, "error": "invalid_auth" | "channel_not_found" | "no_text"}``.

``failures`` scripts statuses answered (and not recorded) before the real answers.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from .receiver import Received


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


@dataclass
class ChatServer:
    kind: str  # slack | teams | google_chat | slack_api
    #: slack_api: the bot's token and the conversations it is a member of
    token: str = "xoxb-0000-s3cr3tBotToken"
    conversations: tuple[str, ...] = ("C0123456789",)
    failures: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _ids: itertools.count = field(default_factory=itertools.count)

    @property
    def webhook_url(self) -> str:
        return {
            "slack": f"http://127.0.0.1:{self.port}/services/T0001/B0001/s3cr3tSlackPath",
            "teams": f"http://127.0.0.1:{self.port}/workflows/f00d/triggers/manual/run?sig=s3cr3t",
            "google_chat": f"http://127.0.0.1:{self.port}/v1/spaces/AAAA/messages"
            "?key=k3y&token=s3cr3tToken",
            "slack_api": f"http://127.0.0.1:{self.port}/api",
        }[self.kind]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.failures:
            return web.Response(status=self.failures.pop(0), text="rollup_error")
        document = _json(body)
        answer = getattr(self, f"_{self.kind}")(request, document)
        if answer.status < 300 and not answer.headers.get("X-Refused"):
            self.requests.append(
                Received(request.method, request.path_qs, dict(request.headers), body)
            )
        return answer

    def _slack(self, request: web.Request, document: Any) -> web.Response:
        if not request.path.startswith("/services/") or request.method != "POST":
            return web.Response(status=404, text="no_service")
        if not isinstance(document, dict):
            return web.Response(status=400, text="invalid_payload")
        if not document.get("text") and not document.get("blocks"):
            return web.Response(status=400, text="no_text")
        return web.Response(text="ok")

    def _slack_api(self, request: web.Request, document: Any) -> web.Response:
        if request.path != "/api/chat.postMessage" or request.method != "POST":
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        answer = self._post_message(request, document)
        response = web.json_response(answer)  # HTTP 200 either way, as Slack does
        if not answer["ok"]:
            response.headers["X-Refused"] = answer["error"]  # not recorded: nothing posted
        return response

    def _post_message(self, request: web.Request, document: Any) -> dict[str, Any]:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return {"ok": False, "error": "invalid_auth"}
        if not isinstance(document, dict):
            return {"ok": False, "error": "invalid_json"}
        if document.get("channel") not in self.conversations:
            return {"ok": False, "error": "channel_not_found"}
        if not document.get("text") and not document.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = f"1764870000.{next(self._ids):06d}"
        return {"ok": True, "channel": document["channel"], "ts": ts, "message": document}

    def _teams(self, request: web.Request, document: Any) -> web.Response:
        ok = (
            isinstance(document, dict)
            and document.get("type") == "message"
            and document.get("attachments")
            and all(
                a.get("contentType") == "application/vnd.microsoft.card.adaptive"
                for a in document["attachments"]
            )
        )
        if not ok:
            return web.json_response({"error": {"code": "InvalidRequestContent"}}, status=400)
        return web.Response(status=202)

    def _google_chat(self, request: web.Request, document: Any) -> web.Response:
        if not request.query.get("key") or not request.query.get("token"):
            return web.json_response(
                {"error": {"code": 401, "status": "UNAUTHENTICATED"}}, status=401
            )
        if not isinstance(document, dict) or not (document.get("text") or document.get("cardsV2")):
            error = {
                "code": 400,
                "message": "Message cannot be empty",
                "status": "INVALID_ARGUMENT",
            }
            return web.json_response({"error": error}, status=400)
        space = request.path.split("/")[3]  # /v1/spaces/{space}/messages
        return web.json_response(
            {
                "name": f"spaces/{space}/messages/{next(self._ids)}",
                "text": document.get("text", ""),
                "createTime": "2026-12-04T18:00:00.000000Z",
            }
        )

    async def start(self) -> ChatServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """Until ``count`` posts were accepted, or the timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.requests) < count and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return list(self.requests)
