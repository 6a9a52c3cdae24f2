"""One POST to a provider's HTTP API, with its failures sorted into retryable or not.

Twilio-compatible and ntfy-compatible servers answer alike: JSON on success, and on failure
a JSON object with a human-readable ``message`` (Twilio) or ``error`` (ntfy) and a numeric
``code``. Sorting, shared by both clients:

- retryable: timeouts, connection failures, 408, 429 and 5xx; the provider or the network
  may recover before the next attempt. A timeout after the request went out may mean the
  provider acted anyway; a duplicate page is the lesser harm than a missing one.
- not retryable: other 4xx (bad number, bad credentials, unknown account) and 3xx (redirects
  are not followed: a POST that gets redirected points at the wrong place), and a 2xx answer
  that is not a JSON object (a misconfigured base URL, most likely; retrying could also
  duplicate a page the provider did take).
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import orjson

from .errors import ProviderError

MAX_ANSWER_BYTES = 64 * 1024  # provider answers are small; a huge one is not worth reading
MAX_DETAIL_CHARS = 300  # of provider-supplied error text quoted in messages and logs
_RETRYABLE_STATUSES = frozenset({408, 429})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


async def post_for_json(
    session: aiohttp.ClientSession,
    url: str,
    *,
    provider: str,
    timeout_s: float,
    data: dict[str, str] | None = None,
    json: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST ``data`` (form) or ``json`` and return the JSON object of a 2xx answer.

    ``provider`` names the endpoint in error messages (e.g. "Twilio at api.twilio.com"); it
    must not contain credentials. Raises ProviderError.
    """
    try:
        async with session.post(
            url,
            data=data,
            json=json,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
        ) as response:
            status, reason = response.status, response.reason or ""
            body = await _read_bounded(response)
    except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutError too
        raise ProviderError(
            f"{provider} did not answer within {timeout_s:g} s", retryable=True
        ) from exc
    except aiohttp.ClientError as exc:
        raise ProviderError(
            f"{provider} unreachable: {type(exc).__name__}: {_one_line(str(exc))}",
            retryable=True,
        ) from exc
    answer = _json_object(body)
    if 200 <= status < 300:
        if answer is None:
            raise ProviderError(
                f"{provider} answered HTTP {status} without a JSON object; is the base URL right?",
                retryable=False,
                status=status,
            )
        return answer
    raise _refusal(provider, status, reason, answer)


def _refusal(
    provider: str, status: int, reason: str, answer: dict[str, Any] | None
) -> ProviderError:
    detail, code = _one_line(reason), None
    if answer is not None:
        text = answer.get("message") or answer.get("error")
        if isinstance(text, str) and text.strip():
            detail = _one_line(text)
        raw_code = answer.get("code")
        if isinstance(raw_code, int | str) and not isinstance(raw_code, bool):
            code = raw_code
    code_text = f", code {code}" if code is not None else ""
    return ProviderError(
        f"{provider} refused the request (HTTP {status}{code_text}): {detail}",
        retryable=status >= 500 or status in _RETRYABLE_STATUSES,
        status=status,
        code=code,
    )


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    """The body, or b"" when it exceeds MAX_ANSWER_BYTES (then it counts as unparseable)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            return b""
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _one_line(text: str) -> str:
    text = _CONTROL.sub(" ", text).strip()
    if len(text) > MAX_DETAIL_CHARS:
        return text[: MAX_DETAIL_CHARS - 1] + "…"
    return text
