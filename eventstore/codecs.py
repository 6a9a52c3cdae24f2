"""Connection set-up: jsonb travels as raw bytes so orjson does the (de)serialising."""

from __future__ import annotations

import asyncpg
import orjson

_JSONB_VERSION = b"\x01"


def _encode_jsonb(value: bytes | str | dict | list) -> bytes:
    if isinstance(value, bytes):
        return _JSONB_VERSION + value
    if isinstance(value, str):
        return _JSONB_VERSION + value.encode()
    return _JSONB_VERSION + orjson.dumps(value)


def _decode_jsonb_raw(value: bytes) -> bytes:
    return value[1:]


async def init_connection(conn: asyncpg.Connection) -> None:
    """jsonb in: bytes, str or objects; jsonb out: raw JSON bytes (decode when needed)."""
    await conn.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb_raw,
        schema="pg_catalog",
        format="binary",
    )


def loads(raw: bytes | None) -> dict:
    return orjson.loads(raw) if raw else {}
