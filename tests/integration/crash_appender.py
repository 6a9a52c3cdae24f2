"""Appends forever with 16 concurrent writers; prints each acknowledged append at once.

Run by test_crash.py, which SIGKILLs it mid-stream and checks every acknowledged line.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import orjson

from eventstore import EventStore, NewEvent


async def main(dsn: str) -> None:
    store = await EventStore.open(dsn)
    out = sys.stdout

    async def writer(worker: int) -> None:
        n = 0
        while True:
            sid = uuid.uuid4()
            data = orjson.dumps({"worker": worker, "n": n})
            result = await store.append(sid, [NewEvent("crash-tick", data)], 0, stream_type="crash")
            out.write(f"{result.first_position} {sid} {worker} {n}\n")
            out.flush()
            n += 1

    await asyncio.gather(*(writer(w) for w in range(16)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
